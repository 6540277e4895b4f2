// The layering the README's Layout table describes, checked on every relative import of the repo's own
// TypeScript and JavaScript (TypeScript's own pre-processor finds them: import, export … from, import(),
// type-only ones too). cli/ parses flags and prints; launcher/ starts and stops clusters for it and for
// the Cluster library (cluster/); components are used from outside only through their public entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT } from '../lib/root.ts';

const SKIP_DIRS = new Set(['node_modules', '.kubemu', '.git', 'images']);
/** Processes of their own: what is used of them from outside goes through public.ts (or runs their main.ts). */
const COMPONENTS = ['apiserver', 'controller-manager', 'scheduler', 'kubelet', 'kube-proxy', 'dns'];

function sources(dir = ROOT): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (SKIP_DIRS.has(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(path.relative(ROOT, p));
  }
  return out;
}

/** file → the repo files it imports (relative specifiers only; packages and node: builtins are not ours). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources()) {
    const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, file), 'utf8'), true, true);
    graph.set(file, info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'))
      .map((s) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), s))));
  }
  return graph;
}

const graph = importGraph();
const top = (f: string) => f.split('/')[0];
/** Tests and the tools around them (benchmarks, code generators) may reach into anything. */
const isTestOrTool = (f: string) => /\.test\.[mc]?[jt]s$/.test(f) || path.basename(f) === 'test-helpers.ts' || ['test', 'bench', 'scripts'].includes(top(f));
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));
const show = (es: Array<{ from: string; to: string }>) => es.map((e) => `${e.from} -> ${e.to}`);

test('layout: the import graph was read (a broken reader would pass everything)', () => {
  assert.ok(graph.size > 300, `only ${graph.size} files`);
  assert.ok(graph.get('cli/main.ts')?.includes('launcher/up-down.ts'), JSON.stringify(graph.get('cli/main.ts')));
});

test('layout: every relative import names a file that exists', () => {
  assert.deepEqual(show(edges.filter((e) => !fs.existsSync(path.join(ROOT, e.to)))), []);
});

test('layout: cluster/ and launcher/ never import cli/; launcher/ code never imports cluster/', () => {
  assert.deepEqual(show(edges.filter((e) => (['cluster', 'launcher'].includes(top(e.from)) && top(e.to) === 'cli')
    || (top(e.from) === 'launcher' && !isTestOrTool(e.from) && top(e.to) === 'cluster'))), []);
});

test('layout: no import cycle anywhere in the repo', () => {
  // Tarjan's strongly connected components: any with more than one file (or a file importing itself) is a cycle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next); low.set(v, next); next++;
    stack.push(v); onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); }
      else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do { w = stack.pop()!; onStack.delete(w); scc.push(w); } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  assert.deepEqual(cycles, []);
});

test('layout: no production file imports the test harness (test/)', () => {
  assert.deepEqual(show(edges.filter((e) => !isTestOrTool(e.from) && top(e.to) === 'test')), []);
});

test('layout: outside a component, code uses only its public entry (public.ts) or runs its main.ts', () => {
  const internal = edges.filter((e) => COMPONENTS.includes(top(e.to)) && top(e.from) !== top(e.to) && !isTestOrTool(e.from)
    && !/^[^/]+\/(public|main)\.ts$/.test(e.to));
  assert.deepEqual(show(internal), []);
});

test('layout: the tests poll with one helper (test/harness/until.ts); others only set its options', () => {
  const loops = [...graph.keys()].filter((f) => f !== 'test/harness/until.ts'
    && /^\s*(?:export )?(?:async )?function until\b/m.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
  assert.deepEqual(loops, []);
});
