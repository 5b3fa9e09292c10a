#!/usr/bin/env node
// `medtrain <command> [flags]`: runs scripts/<command>.ts (the same scripts as `npm run <command>`).
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { register } from 'tsx/esm/api';

const here = dirname(fileURLToPath(import.meta.url));
const scriptsDir = join(here, '..', 'scripts');
const commands = readdirSync(scriptsDir).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h' || !commands.includes(cmd)) {
  process.stderr.write(`${cmd && !commands.includes(cmd) ? `medtrain: unknown command '${cmd}'\n` : ''}usage: medtrain <command> [flags]\ncommands: ${commands.join(', ')}\n`);
  process.exit(cmd && !['--help', '-h'].includes(cmd) ? 2 : 0);
}
process.argv = [process.argv[0], join(scriptsDir, `${cmd}.ts`), ...rest];
register();
await import(pathToFileURL(join(scriptsDir, `${cmd}.ts`)).href);
