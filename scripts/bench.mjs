#!/usr/bin/env node
// `npm run bench -- <name>`: runs bench/<name>.bench.ts with tsx; each benchmark prints one JSON line last.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../bench/', import.meta.url));
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''));
const [name, ...rest] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(
    `usage: npm run bench -- <name> [args]\navailable: ${available.join(', ') || '(none)'}\n`,
  );
  process.exit(2);
}
const run = spawnSync(
  process.execPath,
  ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', `${dir}${name}.bench.ts`, ...rest],
  { stdio: 'inherit' },
);
process.exit(run.status ?? 1);
