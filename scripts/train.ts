/**
 * `medtrain train --benchmark <name> [--data DIR] [--model M] [--engine E] [--out DIR] [--dry-run] [--json]`
 * (and any benchmark field as a flag: --epochs 5, --dim 128, --learning-rate 1e-4, …),
 * `medtrain train --benchmark <name> --folds K [--fold k] [--out CV]` (cross-validation), or
 * `medtrain train --resume RUN [--engine E] [--experiment-log FILE] [--json]`.
 *
 * Trains one benchmark into a run folder (the README lists its files). Without --data and with no
 * dataset in ./data (or $MEDTRAIN_DATA), it trains on the phantom set, made once and cached.
 * `--dry-run` resolves everything and prints the config (with --json: exactly config.json's object)
 * without training or writing anything. `--json` prints summary.json's object, with `run` (the
 * run folder) added. Ctrl-C stops after the current step and says how to resume (exit 130); a
 * second Ctrl-C quits at once.
 */
import { cli, BENCHMARK_FLAGS, Benchmark, benchmarkGrammar, crossValidate, EpochGate, Experiment, MedtrainError, type CrossValidation, type ExperimentOptions, type RunSummary } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const POLICY = 'fail or skip';

const FLAGS = {
  ...cli.ENGINE_FLAG,
  benchmark: { type: 'string', value: 'NAME', help: 'the benchmark name, as chexpert_CWBCE_E3_B32 (the grammar follows the flags)' },
  data: { type: 'string', value: 'DIR', help: 'the dataset folder (default: $MEDTRAIN_DATA, ./data, else the cached phantom set)' },
  out: { type: 'string', value: 'DIR', help: 'the run folder: new or empty (default: a free models/<name>[-N])' },
  resume: { type: 'string', value: 'RUN', help: 'continue a stopped run from its last complete epoch (its config.json decides every setting)' },
  'dry-run': { type: 'boolean', help: 'resolve and print the config; train and write nothing' },
  weights: { type: 'string', value: 'W', help: 'initial weights: auto (ImageNet when its file is on this machine, else random), imagenet, random or a Keras .h5 file' },
  monitor: { type: 'string', value: 'M', help: 'what "best" means (best/, early stopping, plateau, evaluate, reevaluate): val_loss (default), val_macro_auroc, val_auroc/<class>, …' },
  patience: { type: 'string', value: 'N', help: 'early-stopping patience in epochs (default 5)' },
  'no-early-stopping': { type: 'boolean', help: 'train every epoch' },
  plateau: { type: 'string', value: 'F,P', help: 'ReduceLROnPlateau factor and patience (default 0.5,2), or none' },
  thresholds: { type: 'string', value: 'T', help: 'how the operating thresholds are chosen on val: youden (default), f1, balanced, or a number' },
  'head-units': { type: 'string', value: 'N', help: 'units of the hidden Dense layer of the head (default 1024; 0 for none)' },
  dropout: { type: 'string', value: 'P', help: 'dropout before the output layer (default 0)' },
  'keep-checkpoints': { type: 'string', value: 'N', help: 'keep the last N epoch checkpoints (the best epoch and best/ always; default all)' },
  'no-tensorboard': { type: 'boolean', help: 'write no TensorBoard event files' },
  'on-bad-row': { type: 'string', value: 'P', help: `a bad label-table row: ${POLICY} (default fail; skip names each one and goes on)` },
  'on-bad-image': { type: 'string', value: 'P', help: `a missing or unreadable image: ${POLICY} (default skip: each named and counted)` },
  workers: { type: 'string', value: 'N', help: 'image-loading worker threads (default: cores - 1)' },
  'experiment-log': { type: 'string', value: 'FILE', help: 'the experiment log to append to, or none (default: experiment-log.jsonl beside the run folder)' },
  folds: { type: 'string', value: 'K', help: 'cross-validate: train K folds (grouped by patient, stratified over the classes) into one folder (--out, default models/<name>-cv<K>): each fold a run, their mean ± sd and a pooled out-of-fold evaluation; run again to continue' },
  fold: { type: 'string', value: 'k', help: 'with --folds: train fold k only (the summary comes once every fold has finished)' },
  'sweep-trial': { type: 'boolean', help: 'report each epoch to the medtrain sweep that started this run, and stop when it prunes the trial (medtrain sweep sets it)' },
  ...BENCHMARK_FLAGS,
} as const;

/** Flags that set up a new run; a resumed run takes them from its config.json. */
const NEW_RUN_ONLY = ['benchmark', 'data', 'out', 'folds', 'fold', 'weights', 'monitor', 'patience', 'no-early-stopping', 'plateau', 'thresholds', 'head-units', 'dropout', 'keep-checkpoints', 'no-tensorboard', 'on-bad-row', 'on-bad-image', ...Object.keys(BENCHMARK_FLAGS)];

function fmt(v: unknown): string {
  return typeof v === 'number' ? v.toFixed(4) : 'undefined';
}

function humanSummary(dir: string, s: RunSummary): string {
  const best = s.best as { monitor?: string; by?: string } | undefined;
  return [
    `run folder: ${dir}`,
    `val macro AUROC: ${fmt(s.val.macro_auroc)}`,
    ...(s.test ? [`test macro AUROC: ${fmt(s.test.macro_auroc)}`] : []),
    `best epoch: ${s.bestEpoch ?? '-'} of ${String(s.epochs ?? '-')}${best?.monitor ? ` (by ${best.by === 'last epoch' ? 'the last epoch: no value of ' : ''}${best.monitor})` : ''}`,
    `seconds: ${s.seconds.toFixed(1)} on ${s.engine}`,
    '',
  ].join('\n');
}

function humanCv(cv: CrossValidation): string {
  const line = (what: string, m: Record<string, number | null> | null, sd: Record<string, number | null> | null) => `${what}: val macro AUROC ${fmt(m?.val_macro_auroc)}${sd ? ` ± ${fmt(sd.val_macro_auroc)}` : ''}${m?.test_macro_auroc !== undefined && m.test_macro_auroc !== null ? `, test ${fmt(m.test_macro_auroc)}${sd ? ` ± ${fmt(sd.test_macro_auroc)}` : ''}` : ''}`;
  return [
    `cross-validation folder: ${cv.dir}`,
    ...cv.results.map((r, i) => (r ? line(`fold ${r.fold}`, { val_macro_auroc: r.val.macro_auroc ?? null, test_macro_auroc: r.test?.macro_auroc ?? null }, null) : `fold ${i + 1}: not finished`)),
    ...(cv.mean ? [line(`mean ± sd of ${cv.folds} folds`, cv.mean, cv.sd), `pooled out-of-fold: macro AUROC ${fmt(cv.pooled?.macro_auroc)} on ${cv.pooled?.rows} cases`] : []),
    ...(cv.ensemble ? [`the folds' mean ensemble: test macro AUROC ${fmt(cv.ensemble.test?.macro_auroc)} (${cv.ensemble.dir})`] : []),
    '',
  ].join('\n');
}

function policy(flag: string, v: string | undefined): 'fail' | 'skip' | undefined {
  if (v === undefined || v === 'fail' || v === 'skip') return v;
  throw new MedtrainError(`--${flag} takes ${POLICY}`, { code: 'bad-flag', column: `--${flag}`, value: v });
}

function plateau(v: string | undefined): ExperimentOptions['training'] {
  if (v === undefined) return {};
  if (v === 'none') return { plateau: null };
  const [f, p] = v.split(',');
  const factor = numberFlag('plateau', f, { min: 0, max: 1 });
  const patience = numberFlag('plateau', p ?? '2', { integer: true, min: 0 });
  if (!factor || factor >= 1) throw new MedtrainError('--plateau takes a factor in (0, 1) and a patience, as 0.5,2, or none', { code: 'bad-flag', column: '--plateau', value: v });
  return { plateau: { factor, patience: patience! } };
}

function thresholds(v: string | undefined): ExperimentOptions['training'] {
  if (v === undefined) return {};
  if (v === 'youden' || v === 'f1' || v === 'balanced') return { thresholds: v };
  return { thresholds: numberFlag('thresholds', v, { min: 0, max: 1 })! };
}

runMain(async () => {
  const { flags } = parseCli('train', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(`${usage('train', COMMANDS.train, FLAGS)}\nBenchmark names:\n\n${benchmarkGrammar()}\n`);
    return 0;
  }
  const interrupt = new AbortController();
  process.on('SIGINT', () => {
    if (interrupt.signal.aborted) process.exit(130);
    process.stderr.write('\nmedtrain: stopping after the current step (Ctrl-C again to quit at once)\n');
    interrupt.abort();
  });
  const common = {
    workers: numberFlag('workers', flags.workers, { integer: true, min: 0 }),
    signal: interrupt.signal,
    ...(flags['experiment-log'] !== undefined && { experimentLog: flags['experiment-log'] === 'none' ? (false as const) : flags['experiment-log'] }),
    ...(flags['sweep-trial'] && { callbacks: [new EpochGate()] }),
  };
  let exp: Experiment;
  if (flags.resume !== undefined) {
    const named = NEW_RUN_ONLY.filter((k) => flags[k as keyof typeof flags] !== undefined);
    if (named.length) {
      throw new MedtrainError(`--resume continues a run with its own settings: --${named[0]} cannot change them`, {
        code: 'bad-flag',
        column: `--${named[0]}`,
        hint: 'leave the benchmark flags out when resuming (only --engine, --workers, --experiment-log and --json apply)',
      });
    }
    exp = await Experiment.resume(flags.resume, { ...common, ...(flags.engine !== undefined && { engine: flags.engine }) });
  } else {
    if (!flags.benchmark) throw new MedtrainError('train needs --benchmark NAME (or --resume RUN)', { code: 'bad-flag', column: '--benchmark', hint: 'e.g. medtrain train --benchmark chexpert_CWBCE_E3_B32' });
    const benchmark = Benchmark.parse(flags.benchmark).withFlags({ ...flags, engine: flags.engine ?? process.env.MEDTRAIN_ENGINE });
    const patience = numberFlag('patience', flags.patience, { integer: true, min: 0 });
    if (flags['no-early-stopping'] && patience !== undefined) throw new MedtrainError('--patience sets early stopping, which --no-early-stopping turns off', { code: 'bad-flag', column: '--patience' });
    const options: ExperimentOptions = {
      ...common,
      data: flags.data,
      weights: flags.weights,
      onBadRow: policy('on-bad-row', flags['on-bad-row']),
      onBadImage: policy('on-bad-image', flags['on-bad-image']),
      head: {
        ...(flags['head-units'] !== undefined && { units: numberFlag('head-units', flags['head-units'], { integer: true, min: 0 }) }),
        ...(flags.dropout !== undefined && { dropout: numberFlag('dropout', flags.dropout, { min: 0, max: 0.99 }) }),
      },
      training: {
        ...(flags.monitor !== undefined && { monitor: flags.monitor }),
        ...(flags['no-early-stopping'] ? { earlyStopping: null } : patience !== undefined ? { earlyStopping: { patience } } : {}),
        ...plateau(flags.plateau),
        ...thresholds(flags.thresholds),
        ...(flags['keep-checkpoints'] !== undefined && { keepCheckpoints: numberFlag('keep-checkpoints', flags['keep-checkpoints'], { integer: true, min: 1 })! }),
        ...(flags['no-tensorboard'] && { tensorboard: false }),
      },
    };
    const folds = numberFlag('folds', flags.folds, { integer: true, min: 2, max: 100 });
    const fold = numberFlag('fold', flags.fold, { integer: true, min: 1 });
    if (fold !== undefined && folds === undefined) throw new MedtrainError('--fold picks one fold of a cross-validation: give --folds K too', { code: 'bad-flag', column: '--fold', value: flags.fold, hint: `as --folds 5 --fold ${fold}` });
    if (folds !== undefined && !flags['dry-run']) {
      const cv = await crossValidate(benchmark, { ...options, folds, ...(fold !== undefined && { fold }), out: flags.out });
      process.stdout.write(flags.json ? `${JSON.stringify(cv)}\n` : humanCv(cv));
      return 0;
    }
    // A dry run of a cross-validation shows its first fold (or the one asked for).
    const asked = folds === undefined ? benchmark : benchmark.withOverrides({ fold: { index: fold ?? 1, of: folds } });
    exp = await Experiment.create(asked, { ...options, out: folds === undefined || !flags.out ? flags.out : `${flags.out}/fold-${fold ?? 1}` });
  }
  if (flags['dry-run']) {
    if (flags.json) process.stdout.write(`${JSON.stringify(exp.config)}\n`);
    else {
      const c = exp.config;
      process.stdout.write(
        `${exp.resuming ? 'would resume' : 'would train'} ${c.name}\n` +
          `  model ${c.model} at ${c.dim} px, ${c.classes.length} classes, ${c.loss} loss, ${c.optimizer} lr ${c.learningRate}, ${c.epochs} epochs of batch ${c.batchSize}\n` +
          `  best by ${c.training.monitor}; early stopping ${c.training.earlyStopping ? `patience ${c.training.earlyStopping.patience}` : 'off'}\n` +
          `  data ${c.data.dir} (${c.data.source}${c.data.phantom ? ', made on first use' : ''}; bad rows: ${c.data.onBadRow}, bad images: ${c.data.onBadImage})\n` +
          `  engine ${c.engine} on ${c.device}\n  run folder ${exp.dir}\n  experiment log ${exp.experimentLog ?? 'none'}\n`,
      );
    }
    return 0;
  }
  const { dir, summary } = await exp.run();
  process.stdout.write(flags.json ? `${JSON.stringify({ ...summary, run: dir })}\n` : humanSummary(dir, summary));
  return 0;
});
