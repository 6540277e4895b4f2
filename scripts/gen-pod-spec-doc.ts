// Writes docs/pod-spec.md from kubelet/pod-spec-support.ts: node --import tsx scripts/gen-pod-spec-doc.ts
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderPodSpecDoc } from '../kubelet/pod-spec-support.ts';

const out = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/pod-spec.md');
fs.writeFileSync(out, renderPodSpecDoc() + '\n');
console.log(`wrote ${out}`);
