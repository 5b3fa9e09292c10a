/**
 * medtrain evaluate --run DIR [--split val|test] [--epoch N] [--json]
 *
 * A training run's best model (or a saved epoch's) on its val or test split, at the thresholds the
 * run chose on val; an ensemble folder through its members' models.
 *
 * medtrain evaluate --run DIR --calibrate [--bins N] [--json]
 *
 * Temperature scaling per class, fitted on the run's val predictions and applied to val and test:
 * calibration.json and predictions-{val,test}-calibrated.csv in the run folder, ECE and Brier before
 * and after.
 *
 * medtrain evaluate --predictions P.csv --labels L.csv [--json] [--thresholds youden|balanced|f1|0.5|t1,t2,...]
 *   [--val-predictions V.csv --val-labels VL.csv] [--ci] [--bootstrap N] [--seed S] [--group-column COL]
 *   [--compare P2.csv] [--zero-division null|0|1] [--bins N]
 *
 * Per-class and macro / micro / weighted metrics for any model's predictions.
 */
import { cli, MedtrainError, calibrateRun, evaluateEnsemble, evaluatePredictionFiles, evaluateRun, formatCalibration, formatEvaluation, isEnsembleFolder } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  ...cli.ENGINE_FLAG,
  run: { type: 'string', value: 'DIR', help: 'a training run folder: evaluate its model on its own split (instead of --predictions/--labels)' },
  split: { type: 'string', value: 'S', help: 'with --run: val or test (default test)' },
  epoch: { type: 'string', value: 'N', help: "with --run: a saved epoch's model (default: best/)" },
  predictions: { type: 'string', value: 'P.csv', help: 'predictions: id column, then one score column per class' },
  labels: { type: 'string', value: 'L.csv', help: 'labels: the same ids, a column per class (1, 0, blank or -1 = masked)' },
  thresholds: { type: 'string', value: 'T', help: 'youden, balanced (tpr = 1 - fpr), f1, f<beta>, a number, or one number per class (default 0.5)' },
  'val-predictions': { type: 'string', value: 'V.csv', help: 'validation predictions to choose the thresholds on' },
  'val-labels': { type: 'string', value: 'VL.csv', help: 'validation labels to choose the thresholds on' },
  ci: { type: 'boolean', help: 'bootstrap 95% intervals (1000 replicates unless --bootstrap)' },
  bootstrap: { type: 'string', value: 'N', help: 'bootstrap replicates (implies --ci)' },
  seed: { type: 'string', value: 'S', help: 'seed of the bootstrap (default 0)' },
  'group-column': { type: 'string', value: 'COL', help: 'labels column with a patient id: resample patients, not cases' },
  level: { type: 'string', value: 'L', help: 'confidence level of the intervals (default 0.95)' },
  compare: { type: 'string', value: 'P2.csv', help: "a second model's predictions of the same cases: paired DeLong test per class" },
  'zero-division': { type: 'string', value: 'Z', help: 'what an undefined ratio reports: null (default; left out of means), 0 or 1 (as sklearn)' },
  calibrate: { type: 'boolean', help: "with --run: fit a temperature per class on the run's val predictions, apply it to val and test; writes calibration.json and predictions-{val,test}-calibrated.csv" },
  bins: { type: 'string', value: 'N', help: 'equal-width bins of the expected calibration error (default 15)' },
} as const;

runMain(async () => {
  const { flags } = parseCli('evaluate', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('evaluate', COMMANDS.evaluate, FLAGS));
    return 0;
  }
  const bins = numberFlag('bins', flags.bins, { integer: true, min: 1 });
  if (flags.calibrate) {
    if (flags.run === undefined) throw new MedtrainError('--calibrate needs --run DIR', { code: 'bad-flag', column: '--calibrate', hint: 'medtrain evaluate --run DIR --calibrate: temperature scaling fitted on the run\'s val predictions' });
    const other = (['predictions', 'labels', 'val-predictions', 'val-labels', 'compare', 'thresholds', 'ci', 'bootstrap', 'split', 'epoch', 'group-column'] as const).find((k) => flags[k] !== undefined);
    if (other) throw new MedtrainError(`--calibrate fits on the run's val predictions and applies to val and test: --${other} does not apply`, { code: 'bad-flag', column: `--${other}`, hint: 'medtrain evaluate --run DIR --calibrate [--bins N] [--json]' });
    const r = await calibrateRun(flags.run, { bins });
    process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : formatCalibration(r));
    return 0;
  }
  if (flags.run !== undefined) {
    if (bins !== undefined) throw new MedtrainError('--bins applies to --predictions files and to --calibrate: --run reports 15 bins', { code: 'bad-flag', column: '--bins', hint: 'medtrain evaluate --run DIR --calibrate --bins N, or --predictions P.csv --labels L.csv --bins N' });
    const other = (['predictions', 'labels', 'val-predictions', 'val-labels', 'compare', 'thresholds', 'ci', 'bootstrap'] as const).find((k) => flags[k] !== undefined);
    if (other) throw new MedtrainError(`--run evaluates the run's own predictions: --${other} does not apply`, { code: 'bad-flag', column: `--${other}`, hint: 'use --run DIR [--split val|test] [--epoch N], or the predictions-file flags without --run' });
    const split = flags.split ?? 'test';
    if (split !== 'val' && split !== 'test') throw new MedtrainError('--split takes val or test', { code: 'bad-flag', column: '--split', value: split });
    const epoch = numberFlag('epoch', flags.epoch, { integer: true, min: 1 });
    const ensemble = await isEnsembleFolder(flags.run);
    if (ensemble && epoch !== undefined) throw new MedtrainError('an ensemble has no epochs of its own: --epoch does not apply', { code: 'bad-flag', column: '--epoch', file: flags.run });
    const r = ensemble ? await evaluateEnsemble(flags.run, { split, engine: flags.engine }) : await evaluateRun(flags.run, { split, epoch, engine: flags.engine });
    if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      const where = `${r.run} (${r.model.description}, ${r.split} split)`;
      const table = formatEvaluation({ ...r.report, predictions: where, labels: where, thresholdMethod: "the run's thresholds.json", thresholdSource: 'validation', thresholdFallback: [], ignoredLabelColumns: [] });
      process.stdout.write(`${where}\n${table}`);
    }
    return 0;
  }
  if (flags.split !== undefined || flags.epoch !== undefined) throw new MedtrainError(`--${flags.split !== undefined ? 'split' : 'epoch'} needs --run`, { code: 'bad-flag', hint: 'medtrain evaluate --run DIR [--split val|test] [--epoch N]' });
  if (!flags.predictions || !flags.labels) {
    throw new MedtrainError('evaluate needs --predictions and --labels, or --run DIR', { code: 'bad-flag', hint: 'medtrain evaluate --run DIR [--split val|test], or medtrain evaluate --predictions P.csv --labels L.csv [--json]' });
  }
  const zd = flags['zero-division'];
  if (zd !== undefined && !['null', 'nan', '0', '1'].includes(zd)) throw new MedtrainError('--zero-division takes null, 0 or 1', { code: 'bad-flag', column: '--zero-division', value: zd });
  const replicates = numberFlag('bootstrap', flags.bootstrap, { integer: true, min: 1 }) ?? (flags.ci ? 1000 : 0);
  const result = evaluatePredictionFiles({
    predictions: flags.predictions,
    labels: flags.labels,
    thresholds: flags.thresholds,
    valPredictions: flags['val-predictions'],
    valLabels: flags['val-labels'],
    bootstrap: replicates,
    seed: flags.seed,
    groupColumn: flags['group-column'],
    level: numberFlag('level', flags.level, { min: 0.5, max: 0.999 }),
    compare: flags.compare,
    zeroDivision: zd === undefined || zd === 'null' || zd === 'nan' ? null : (Number(zd) as 0 | 1),
    bins,
  });
  process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : formatEvaluation(result));
  return 0;
});
