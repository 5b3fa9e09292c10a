#!/usr/bin/env node
// `medtrain <command> [flags]`: runs the compiled command (dist/scripts/<command>.js). In the
// repository, `npm run <command>` runs the same commands from their TypeScript sources.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const scripts = join(root, 'dist', 'scripts');
if (!existsSync(join(scripts, 'commands.js'))) {
  process.stderr.write(`medtrain: the commands are not built in ${root}\n  fix: run npm run build there\n`);
  process.exit(1);
}
const { COMMANDS } = await import(pathToFileURL(join(scripts, 'commands.js')).href);
const names = Object.keys(COMMANDS);
let [cmd, ...rest] = process.argv.slice(2);

if (cmd === '--version' || cmd === '-v') {
  process.stdout.write(`${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}\n`);
  process.exit(0);
}
if (cmd === 'help' && rest.length) [cmd, rest] = [rest[0], ['--help']];
if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]}`);
  process.stdout.write(`usage: medtrain <command> [flags]   (medtrain <command> --help lists its flags)\n\ncommands:\n${lines.join('\n')}\n`);
  process.exit(0);
}
if (!names.includes(cmd)) {
  process.stderr.write(`medtrain: unknown command '${cmd}'\n  fix: use one of ${names.join(', ')} (medtrain --help says what each does)\n`);
  process.exit(2);
}
const script = join(scripts, `${cmd}.js`);
process.argv = [process.argv[0], script, ...rest];
await import(pathToFileURL(script).href);
