// The repository's root directory (where proto/ and node_modules/ are), found from this module's
// location upwards: the same answer whether the code runs from its TypeScript sources (tsx) or from
// a component bundle under .kubemu/bundle/ (launcher/bundle.ts), where `import.meta.url` is the bundle's.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'proto', 'api.proto')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`kubemu: no repository root (proto/api.proto beside package.json) above ${from}`);
  }
}

export const ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
