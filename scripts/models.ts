/**
 * `medtrain models [--json]`: every registered model with its parameter count without the top,
 * default input size and input preprocessing.
 */
import { cli, describeModels, initBackend, shutdownBackend } from 'medtrain';
import { COMMANDS } from './commands.js';

const { parseCli, runMain, usage } = cli;

runMain(async () => {
  const { flags } = parseCli('models', {}, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('models', COMMANDS.models, {}));
    return;
  }
  // Counting parameters allocates each model's weights once; the plain JS engine does that fastest.
  await initBackend('cpu', { quiet: true });
  const models = describeModels();
  shutdownBackend();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ models })}\n`);
    return;
  }
  const rows = [['model', 'params (no top)', 'input', 'min', 'preprocessing', 'ImageNet weights file'], ...models.map((m) => [m.name, m.params.toLocaleString('en-US'), String(m.inputSize), String(m.minInputSize), m.preprocessing, m.imagenetWeights ?? '(none)'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) process.stdout.write(`${r.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
});
