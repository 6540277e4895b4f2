// `kubemu images load IMAGE…`: put an image built on this machine where every node can run it, with no
// registry. The nodes of `kubemu up` and `docker compose up` share this host's Docker engine, so an image in
// it is already on every node: the command checks that it exists, records it (<dir>/images.json) and says
// how pull policies treat it. Nodes whose engine is on another host (multi-host labs, `kubemu join`) get it
// with --docker-host tcp://HOST:2375|ssh://USER@HOST (repeatable): `docker save` streamed into `docker load`
// there, no registry in between.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { defaultImagePullPolicy } from '../api/defaults/index.ts';
import { DockerEngine } from '../kubelet/public.ts';
import { defaultOutput, UserError, type Output } from './output.ts';

export interface ImagesOptions { operands: string[]; dir: string; dockerHosts?: string[] }

export interface LoadedImage { image: string; id: string; size: number; loadedAt: string; hosts: string[] }

/** --docker-host values docker understands: tcp://HOST:PORT, ssh://[USER@]HOST[:PORT], unix:///PATH. */
export function checkDockerHost(h: string): string {
  if (!/^(tcp:\/\/[^/\s]+|ssh:\/\/[^/\s]+|unix:\/\/\/\S+)$/.test(h)) {
    throw new UserError(`--docker-host: want tcp://HOST:PORT, ssh://[USER@]HOST or unix:///PATH, got ${JSON.stringify(h)}`, 2);
  }
  return h;
}

/** `docker save IMAGES | docker -H HOST load`, both checked. */
function saveAndLoad(images: string[], host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const save = spawn('docker', ['save', ...images], { stdio: ['ignore', 'pipe', 'pipe'] });
    const load = spawn('docker', ['-H', host, 'load'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let saveErr = '';
    let loadOut = '';
    save.stderr.on('data', (d) => { saveErr += d; });
    load.stdout.on('data', (d) => { loadOut += d; });
    load.stderr.on('data', (d) => { loadOut += d; });
    save.stdout.pipe(load.stdin);
    load.stdin.on('error', () => { /* load died: its exit code says why */ });
    const done = Promise.all([new Promise<number>((r) => save.on('close', r)), new Promise<number>((r) => load.on('close', r))]);
    save.on('error', reject);
    load.on('error', reject);
    void done.then(([s, l]) => {
      if (s !== 0) reject(new Error(`docker save: ${saveErr.trim() || `exit ${s}`}`));
      else if (l !== 0) reject(new Error(`docker -H ${host} load: ${loadOut.trim() || `exit ${l}`}`));
      else resolve(loadOut.trim());
    });
  });
}

export async function images(opts: ImagesOptions, say: Output = defaultOutput): Promise<LoadedImage[]> {
  const [sub, ...names] = opts.operands;
  if (sub !== 'load') throw new UserError(`images: unknown subcommand ${JSON.stringify(sub)} (usage: kubemu images load IMAGE… [--docker-host URL]…)`, 2);
  if (!names.length) throw new UserError('images load: name at least one image (usage: kubemu images load IMAGE… [--docker-host URL]…)', 2);
  const hosts = (opts.dockerHosts ?? []).map(checkDockerHost);
  if (!fs.existsSync('/var/run/docker.sock')) throw new UserError('the Docker engine is not running (no /var/run/docker.sock): start dockerd first');
  const engine = new DockerEngine({ connections: 2 });
  const found: Array<{ image: string; id: string; size: number }> = [];
  try {
    for (const image of names) {
      const info = await engine.json<{ Id: string; Size: number }>('GET', `/images/${encodeURIComponent(image)}/json`, undefined, [404]);
      if (!info) {
        throw new UserError(`image ${image} is not in this machine's Docker engine. Build it first, e.g. docker build -t ${image} DIR ` +
          `(kubemu runs images from this engine and pulls only from registries on this machine)`);
      }
      found.push({ image, id: info.Id, size: info.Size });
    }
  } finally {
    await engine.pool.close();
  }
  for (const h of hosts) {
    say(`loading ${names.join(' ')} into ${h} (docker save | docker -H ${h} load) …`);
    try {
      const out = await saveAndLoad(names, h);
      if (out) say(out.split('\n').map((l) => `  ${l}`).join('\n'));
    } catch (err) {
      throw new UserError(`could not load into ${h}: ${(err as Error).message}`);
    }
  }
  // Recorded beside the cluster's state, so what was loaded (and where) can be seen and loaded again.
  const dir = path.resolve(opts.dir);
  const file = path.join(dir, 'images.json');
  let record: LoadedImage[] = [];
  try { record = JSON.parse(fs.readFileSync(file, 'utf8')) as LoadedImage[]; } catch { /* first one */ }
  const now = new Date().toISOString();
  const loaded = found.map((f) => ({ ...f, loadedAt: now, hosts: ['local', ...hosts] }));
  for (const l of loaded) {
    const old = record.find((r) => r.image === l.image);
    if (old) l.hosts = [...new Set([...old.hosts, ...l.hosts])];
    record = [...record.filter((r) => r.image !== l.image), l];
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  for (const l of loaded) {
    say(`${l.image} (${l.id.slice(7, 19)}, ${(l.size / 1e6).toFixed(1)} MB): on every node of this host's Docker engine${hosts.length ? ` and on ${hosts.join(', ')}` : ''}`);
  }
  say(`recorded in ${file}
pull policies: IfNotPresent and Never run these images as they are. Always: kubemu's kubelet pulls only when the image
is missing from the node, so Always runs them too (a real kubelet would ask a registry first and fail with ErrImagePull
for an image that exists only locally: use imagePullPolicy IfNotPresent or Never in manifests for real clusters).`);
  const always = loaded.filter((l) => defaultImagePullPolicy(l.image) === 'Always');
  if (always.length) say(`note: ${always.map((l) => l.image).join(', ')} ha${always.length > 1 ? 've' : 's'} no tag or :latest, so imagePullPolicy defaults to Always: give it a tag for manifests meant for real clusters`);
  return loaded;
}
