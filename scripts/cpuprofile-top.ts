// The hottest functions of a V8 CPU profile (kubemu up --cpu-prof DIR, or node --cpu-prof): self time (where
// the CPU was) and inclusive time (what it was doing it for), each as a share of all samples.
//   npx tsx scripts/cpuprofile-top.ts FILE.cpuprofile [N]      (N rows each, default 25)
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

const [file, rows = '25'] = process.argv.slice(2);
if (!file) { console.error('usage: tsx scripts/cpuprofile-top.ts FILE.cpuprofile [N]'); process.exit(2); }
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** One name per function: a package's functions by package, the project's by its path. */
function label(f: CallFrame): string {
  const name = f.functionName || '(anonymous)';
  if (!f.url) return name;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(f.url)?.[1];
  const where = pkg ? `${pkg}` : f.url.startsWith('node:') ? f.url : path.relative(process.cwd(), f.url.replace(/^file:\/\//, ''));
  return `${name} (${where}:${f.lineNumber + 1})`;
}

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
// Time of each sample: the delta to the next one (the last sample gets the mean).
const total = profile.endTime - profile.startTime;
const mean = total / Math.max(1, profile.samples.length);
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i + 1] ?? mean;
  const leaf = byId.get(id)!;
  self.set(label(leaf.callFrame), (self.get(label(leaf.callFrame)) ?? 0) + dt);
  // Each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const l = label(byId.get(n)!.callFrame);
    if (l === '(root)' || seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + dt);
  }
});

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const table = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, Number(rows))) console.log(`${pct(us)} ${ms(us)}  ${l}`);
};
console.log(`${path.basename(file)}: ${(total / 1e6).toFixed(1)} s, ${profile.samples.length} samples`);
table('self time (where the CPU was; (idle) = waiting, (garbage collector) = GC)', self);
table('inclusive time (the function and all it called)', inclusive);
