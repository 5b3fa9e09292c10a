/**
 * `npm run models -- [--json]`: every registered model with its parameter count without the top,
 * default input size and input preprocessing.
 */
import { cli, describeModels, initBackend, shutdownBackend } from 'medtrain';

const { parseCli, runMain, usage } = cli;

const SUMMARY = 'List the registered models: parameters without the top, default input size, preprocessing, ImageNet weight file.';

runMain(async () => {
  const { flags } = parseCli('models', {}, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('models', SUMMARY, {}));
    return;
  }
  // Counting parameters allocates each model's weights once; the plain JS engine does that fastest.
  await initBackend(flags.engine ?? process.env.MEDTRAIN_ENGINE ?? 'cpu', { quiet: true });
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
