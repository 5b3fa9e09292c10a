/**
 * `npm run bench -- <name> [flags]`: runs bench/<name>.ts, which prints one JSON object on stdout.
 * Harnesses measure medtrain beside its peers (PyTorch, Keras) on the same machine and report ratios.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const names = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...rest] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  process.stderr.write(`${name ? `unknown harness '${name}'\n` : ''}usage: npm run bench -- <name> [flags]\nharnesses: ${names.join(', ') || '(none yet)'}\n`);
  process.exit(name ? 2 : 0);
}
process.argv = [process.argv[0]!, join(here, `${name}.ts`), ...rest];
await import(pathToFileURL(join(here, `${name}.ts`)).href);
