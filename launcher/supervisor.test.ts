// The supervisor with real child processes: the back-off sequence (doubling, capped, reset after a long
// enough run), kill -9 and restart, holding, an explicit restart; then the supervisor process itself
// over its socket, as `kubemu up` and the fault commands use it, leaving its components running when stopped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../lib/logger.ts';
import { isAlive, readState, readSupervisorFile, writeState } from './state.ts';
import { nextBackoff, Supervisor, type RestartInfo } from './supervisor.ts';
import { restartEvent } from './supervisor-events.ts';
import { startSupervisor, stopSupervisor } from './supervisor-client.ts';
import { FaultInjector } from '../cluster/faults.ts';
import { until as poll } from '../test/harness/until.ts';

const BACKOFF = { initialMs: 200, maxMs: 800, resetAfterMs: 1500 };

const until = <T>(what: string, fn: () => T | undefined | false, ms = 15_000): Promise<T> => poll(what, fn, ms, { everyMs: 20, retryErrors: false });

/** A node child: the first `crashes` runs exit 1 at once, the next runs `longMs` and exits 1, later ones stay up. */
function flakyArgv(dir: string, crashes: number, longMs: number): string[] {
  const counter = path.join(dir, 'runs');
  const script = `const fs=require('fs');const f=${JSON.stringify(counter)};const n=(fs.existsSync(f)?Number(fs.readFileSync(f,'utf8')):0)+1;fs.writeFileSync(f,String(n));`
    + `if(n<=${crashes})process.exit(1);if(n===${crashes + 1})setTimeout(()=>process.exit(1),${longMs});else setInterval(()=>{},1000);`;
  return [process.execPath, '-e', script];
}
const sleeperArgv = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

function tmpdir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubemu-supervisor-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('nextBackoff: the initial delay, doubling to the cap, reset after a long enough run', () => {
  assert.equal(nextBackoff(undefined, 0, BACKOFF), 200);
  assert.equal(nextBackoff(200, 10, BACKOFF), 400);
  assert.equal(nextBackoff(400, 10, BACKOFF), 800);
  assert.equal(nextBackoff(800, 10, BACKOFF), 800);
  assert.equal(nextBackoff(800, 1500, BACKOFF), 200);
  assert.throws(() => new Supervisor({ logger: silentLogger(), backoff: { initialMs: 0, maxMs: 1, resetAfterMs: 1 } }), /back-off: want 0 < initialMs/);
});

test('a crashing child is restarted with back-off 200, 400, 800 ms, then 200 again after a run longer than the reset', async (t) => {
  const dir = tmpdir(t);
  const log = path.join(dir, 'flaky.log');
  const restarts: Array<RestartInfo & { at: number }> = [];
  const sup = new Supervisor({ logger: silentLogger(), backoff: BACKOFF, onRestart: (r) => restarts.push({ ...r, at: Date.now() }) });
  t.after(() => { sup.close(); for (const p of Object.values(sup.status())) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } });
  const first = sup.launch({ name: 'flaky', argv: flakyArgv(dir, 3, 1700), log });
  assert.ok(first > 0);
  await until('4 restarts', () => restarts.length >= 4, 20_000);
  assert.deepEqual(restarts.map((r) => r.backoffMs), [200, 400, 800, 200], 'doubling, capped at 800, reset after the 1.7 s run');
  assert.deepEqual(restarts.map((r) => r.restarts), [1, 2, 3, 4]);
  assert.ok(restarts.every((r) => r.exit.code === 1 && r.exit.signal === null));
  for (const r of restarts) assert.ok(r.at - Date.parse(r.exit.at) >= r.backoffMs - 5, `restarted ${r.at - Date.parse(r.exit.at)} ms after the exit, back-off ${r.backoffMs}`);
  assert.equal(restarts[0].oldPid, first);
  assert.ok(restarts.every((r, i) => i === 0 || r.oldPid === restarts[i - 1].pid));
  const now = await until('running', () => sup.status().flaky.state === 'running' && sup.status().flaky);
  assert.equal(now.pid, restarts[3].pid);
  assert.ok(isAlive(now.pid));
  assert.equal(now.restarts, 4);
  assert.deepEqual(now.lastExit && { code: now.lastExit.code, signal: now.lastExit.signal }, { code: 1, signal: null });
  // The component's own log says why it started again, in pino's shape.
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.filter((l) => /^restarted flaky \(pid \d+ → \d+\) after it exited \(exit code 1\); back-off 0\.2 s, restart 1$/.test(l.msg)).length, 1, JSON.stringify(lines));
  assert.ok(lines.every((l) => l.component === 'supervisor' && typeof l.time === 'number' && l.level === 40));

  // The Event it posts says the same.
  const ev = restartEvent(restarts[0]);
  assert.equal(ev.reason, 'ComponentRestarted');
  assert.deepEqual(ev.involvedObject, { apiVersion: 'v1', kind: 'ComponentStatus', name: 'flaky' });
  assert.match(String(ev.message), /^flaky exited \(exit code 1\) and was restarted after a back-off of 0\.2 s \(pid \d+ → \d+, restart 1\)$/);
  assert.deepEqual(restartEvent({ ...restarts[0], spec: { ...restarts[0].spec, node: 'node-1' } }).involvedObject, { apiVersion: 'v1', kind: 'Node', name: 'node-1' });
});

test('kill -9 is restarted; a held component stays down until started; restart() replaces a running one', async (t) => {
  const dir = tmpdir(t);
  const sup = new Supervisor({ logger: silentLogger(), backoff: BACKOFF });
  t.after(() => { sup.close(); for (const p of Object.values(sup.status())) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } });
  const pid = sup.launch({ name: 'sleeper', argv: sleeperArgv, log: path.join(dir, 'sleeper.log') });
  assert.throws(() => sup.launch({ name: 'sleeper', argv: sleeperArgv, log: path.join(dir, 'sleeper.log') }), /sleeper is already running/);
  process.kill(pid, 'SIGKILL');
  const backoff = await until('back-off', () => sup.status().sleeper.state === 'backoff' && sup.status().sleeper);
  assert.equal(backoff.lastExit?.signal, 'SIGKILL');
  assert.ok(backoff.nextStartAt && Date.parse(backoff.nextStartAt) > Date.now() - 50);
  const again = await until('restarted', () => sup.status().sleeper.state === 'running' && sup.status().sleeper);
  assert.notEqual(again.pid, pid);
  assert.equal(again.restarts, 1);

  sup.hold('sleeper');
  process.kill(again.pid, 'SIGKILL');
  await until('held', () => sup.status().sleeper.state === 'held');
  await sleep(BACKOFF.maxMs + 300);
  assert.equal(sup.status().sleeper.state, 'held', 'not restarted while held');
  assert.equal(sup.status().sleeper.restarts, 1);
  const started = await sup.start('sleeper');
  assert.ok(isAlive(started) && started !== again.pid);
  assert.equal(sup.status().sleeper.state, 'running');

  const replaced = await sup.restart('sleeper', 2000);
  assert.notEqual(replaced, started);
  assert.equal(isAlive(started), false, 'the old process is gone');
  await sleep(BACKOFF.initialMs + 200);
  assert.equal(sup.status().sleeper.pid, replaced, 'the stop for the restart was not taken for a crash');
  assert.equal(sup.status().sleeper.restarts, 1, 'an asked-for restart is not counted');
  assert.throws(() => sup.hold('nope'), /no component "nope" is supervised; components: sleeper/);

  // Killed by someone else and started at once, before its exit reached the supervisor (kubemu kill, then
  // restart): the dead pid is not taken for running, and no back-off restart adds a second process.
  process.kill(replaced, 'SIGKILL');
  while (isAlive(replaced)) { /* a zombie soon: this process has not yet had a turn to see the exit */ }
  const fresh = await sup.start('sleeper');
  assert.notEqual(fresh, replaced);
  assert.ok(isAlive(fresh));
  await sleep(BACKOFF.initialMs + 300);
  assert.equal(sup.status().sleeper.pid, fresh, 'still the one start() started: no second start after a back-off');
  assert.equal(sup.status().sleeper.state, 'running');
});

test('the supervisor process: launch over its socket, kill -9 restarted, --no-restart held, stopping it leaves the components running', async (t) => {
  const dir = tmpdir(t);
  const pids: number[] = [];
  const sup = await startSupervisor(dir, { backoff: BACKOFF, logLevel: 'info' });
  // By its handle: the directory (and supervisor.json in it) may already be gone when this runs.
  t.after(async () => { await sup.stop().catch(() => {}); for (const p of pids) try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } });
  const log = path.join(dir, 'logs', 'sleeper.log');
  const pid = await sup.launch({ name: 'sleeper', argv: sleeperArgv, log });
  pids.push(pid);
  // state.json as `up` writes it; readState lays the supervisor's view over it.
  writeState({ dir, startedAt: new Date().toISOString(), apiserver: '', grpc: '', etcd: '', kubeconfig: '', components: [{ name: 'sleeper', pid, log, argv: sleeperArgv }] });
  assert.equal(readState(dir)!.supervisor?.pid, sup.pid);
  // Recorded as /proc has it (node's own flags too), so other processes (kubemu down) recognise it.
  assert.deepEqual(readState(dir)!.supervisor?.argv, fs.readFileSync(`/proc/${sup.pid}/cmdline`, 'utf8').split('\0').slice(0, -1));
  assert.equal(readState(dir)!.components[0].supervised?.state, 'running');

  process.kill(pid, 'SIGKILL');
  const c = await until('restarted with a new pid in supervisor.json', () => {
    const s = readState(dir)!.components[0];
    return s.pid !== pid && s.supervised?.state === 'running' && s;
  });
  pids.push(c.pid);
  assert.equal(c.supervised!.restarts, 1);
  assert.equal(c.supervised!.lastExit?.signal, 'SIGKILL');
  assert.ok(!JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).components[0].supervised, 'state.json itself keeps none of it');
  const supLog = () => fs.readFileSync(path.join(dir, 'logs', 'supervisor.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  await until('the restart in the supervisor\'s log', () => supLog().some((l) => l.component === 'supervisor' && l.target === 'sleeper' && l.restarts === 1 && /^restarted sleeper/.test(l.msg)));

  await sup.hold('sleeper');
  process.kill(c.pid, 'SIGKILL');
  await until('held', () => readState(dir)!.components[0].supervised?.state === 'held');
  await sleep(BACKOFF.maxMs + 300);
  assert.equal(isAlive(readState(dir)!.components[0].pid), false);
  const back = await sup.start('sleeper');
  pids.push(back);
  assert.ok(isAlive(back));
  await assert.rejects(sup.start('nope'), /supervisor: no component "nope" is supervised/);
  assert.equal((fs.statSync(sup.socket).mode & 0o777), 0o600, 'only its owner may talk to it');

  assert.equal(await stopSupervisor(dir), true);
  assert.equal(isAlive(sup.pid), false);
  assert.ok(isAlive(back), 'the component outlives its supervisor (down stops it next)');
  process.kill(back, 'SIGKILL');
  await until('gone', () => !isAlive(back));
  await sleep(BACKOFF.maxMs + 300);
  assert.equal(readSupervisorFile(dir)!.components.sleeper.pid, back, 'nobody restarted it');
  assert.equal(await stopSupervisor(dir), false);

  // With its supervisor gone, `kubemu restart` starts the component itself, and everyone sees the new pid.
  const f = new FaultInjector(dir);
  const rec = await f.restart('sleeper');
  const now = readState(dir)!.components[0];
  pids.push(now.pid);
  assert.ok(now.pid !== back && isAlive(now.pid), JSON.stringify(now));
  assert.equal(rec.message, `started sleeper again (pid ${now.pid})`);
  assert.equal(readSupervisorFile(dir), undefined, 'the dead supervisor\'s file is folded into state.json');
});
