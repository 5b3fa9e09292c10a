/**
 * `medtrain predict --run DIR <image|folder>... [--out CSV] [--epoch N] [--json]`: probabilities
 * and labels (at the run's thresholds, chosen on val) of a run's best model (or a saved epoch's, or
 * an ensemble folder's members combined) for one image or every image under a folder. A file that is not a readable image is named once
 * (a line here, or the JSON's `skipped`) and the others are predicted; none readable is an error (exit 2).
 */
import { cli, isEnsembleFolder, MedtrainError, predictEnsemble, predictRun } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  ...cli.ENGINE_FLAG,
  run: { type: 'string', value: 'DIR', help: 'the training run folder' },
  out: { type: 'string', value: 'CSV', help: 'also write a CSV: id, a probability per class, then a 0/1 label per class' },
  epoch: { type: 'string', value: 'N', help: "a saved epoch's model (default: best/)" },
} as const;

runMain(async () => {
  const { flags, positionals } = parseCli('predict', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(usage('predict', COMMANDS.predict, FLAGS, '<image|folder>...'));
    return 0;
  }
  if (!flags.run) throw new MedtrainError('predict needs --run DIR', { code: 'bad-flag', column: '--run', hint: 'medtrain predict --run models/<run> image.jpg' });
  const epoch = numberFlag('epoch', flags.epoch, { integer: true, min: 1 });
  const ensemble = await isEnsembleFolder(flags.run);
  if (ensemble && epoch !== undefined) throw new MedtrainError('an ensemble has no epochs of its own: --epoch does not apply', { code: 'bad-flag', column: '--epoch', file: flags.run });
  const r = ensemble ? await predictEnsemble(flags.run, positionals, { out: flags.out, engine: flags.engine }) : await predictRun(flags.run, positionals, { out: flags.out, epoch, engine: flags.engine });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const lines = [`${r.run}: ${r.model.description}`];
  for (const p of r.predictions) {
    const positive = r.classes.filter((c) => p.labels[c] === 1);
    const probs = r.classes.map((c) => `${c} ${p.probabilities[c]!.toFixed(3)}`).join(', ');
    lines.push(`${p.id}: ${positive.length ? positive.join(', ') : 'no finding above threshold'}\n  ${probs}`);
  }
  // The one report of each image left out (predictRun does not log them).
  for (const s of r.skipped) lines.push(`skipped ${s.id}: ${s.reason}${s.id === s.file ? '' : ` (${s.file})`}`);
  if (r.out) lines.push(`wrote ${r.out}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
});
