/**
 * `medtrain explain --run DIR <image|folder>... [--class NAME[,NAME...]|--top K] [--method gradcam|gradcam++|crm]
 * [--layer NAME] [--out DIR] [--epoch N] [--json]`: where a run's model looks. Per image and class an
 * overlay PNG (the image, the map, a colour bar) and the raw map (.npy), and explain.json with each
 * class's probability and the map's peak.
 */
import { cli, explain, MedtrainError, type ExplainResult, type HeatmapMethod } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  ...cli.ENGINE_FLAG,
  run: { type: 'string', value: 'DIR', help: 'the training run folder' },
  class: { type: 'string', value: 'NAME', help: 'the classes to explain, comma-separated (default: those the run labels positive, at least the most probable)' },
  top: { type: 'string', value: 'K', help: "explain each image's K most probable classes" },
  method: { type: 'string', value: 'M', help: 'gradcam (default), gradcam++ or crm (class-selective relevance maps)' },
  layer: { type: 'string', value: 'NAME', help: "the layer to explain (default: the model's last convolutional block)" },
  out: { type: 'string', value: 'DIR', help: 'the output folder (default <run>/explain-<method>)' },
  epoch: { type: 'string', value: 'N', help: "a saved epoch's model (default: best/)" },
} as const;

function human(r: ExplainResult): string {
  const lines = [`${r.method} at layer ${r.layer} of ${r.run}`];
  for (const im of r.images) {
    lines.push(`${im.id}:`);
    for (const m of im.maps) lines.push(`  ${m.class} ${m.probability.toFixed(3)}: peak at (${m.peak.x.toFixed(0)}, ${m.peak.y.toFixed(0)}) px; ${m.png}`);
  }
  for (const s of r.skipped) lines.push(`skipped ${s.id}: ${s.reason}`);
  lines.push(`wrote ${r.out}/explain.json`);
  return `${lines.join('\n')}\n`;
}

runMain(async () => {
  const { flags, positionals } = parseCli('explain', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(usage('explain', COMMANDS.explain, FLAGS, '<image|folder>...'));
    return 0;
  }
  if (!flags.run) throw new MedtrainError('explain needs --run DIR', { code: 'bad-flag', column: '--run', hint: 'medtrain explain --run models/<run> image.jpg' });
  const r = await explain(flags.run, positionals, {
    classes: flags.class?.split(',').map((s) => s.trim()).filter(Boolean),
    top: numberFlag('top', flags.top, { integer: true, min: 1 }),
    method: flags.method as HeatmapMethod | undefined,
    layer: flags.layer,
    out: flags.out,
    epoch: numberFlag('epoch', flags.epoch, { integer: true, min: 1 }),
    engine: flags.engine,
  });
  process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : human(r));
  return 0;
});
