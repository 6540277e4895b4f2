#!/usr/bin/env node
// Launcher for `npx kubemu`: load TypeScript through tsx, then run the CLI.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
