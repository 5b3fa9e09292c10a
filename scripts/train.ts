/**
 * `npm run train -- --benchmark <name> [--data DIR] [--model M] [--engine E] [--out DIR] [--dry-run] [--json]`
 * (and any benchmark field as a flag: --epochs 5, --dim 128, --learning-rate 1e-4, …), or
 * `npm run train -- --resume RUN [--engine E] [--json]`.
 *
 * Trains one benchmark into a run folder (the README lists its files). Without --data and with no
 * dataset in ./data (or $MEDTRAIN_DATA), it trains on the phantom set, made once and cached.
 * `--dry-run` resolves everything and prints the config (with --json: exactly config.json's object)
 * without training or writing anything. `--json` prints summary.json's object, with `run` (the
 * run folder) added.
 */
import { cli, BENCHMARK_FLAGS, Benchmark, benchmarkGrammar, Experiment, MedtrainError, type ExperimentOptions, type RunSummary } from 'medtrain';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  benchmark: { type: 'string', value: 'NAME', help: 'the benchmark name, as chexpert_CWBCE_E3_B32 (the grammar follows the flags)' },
  data: { type: 'string', value: 'DIR', help: 'the dataset folder (default: $MEDTRAIN_DATA, ./data, else the cached phantom set)' },
  out: { type: 'string', value: 'DIR', help: 'the run folder (default: a free models/<name>[-N])' },
  resume: { type: 'string', value: 'RUN', help: 'continue a stopped run from its last complete epoch (its config.json decides every setting)' },
  'dry-run': { type: 'boolean', help: 'resolve and print the config; train and write nothing' },
  weights: { type: 'string', value: 'W', help: 'initial weights: auto (ImageNet when its file is on this machine), imagenet, random or a Keras .h5 file' },
  workers: { type: 'string', value: 'N', help: 'image-loading worker threads (default: cores - 1)' },
  'experiment-log': { type: 'string', value: 'FILE', help: 'the experiment log to append to, or none (default: models/experiment-log.jsonl)' },
  ...BENCHMARK_FLAGS,
} as const;

const SUMMARY = 'Train a benchmark into a run folder: checkpoints every epoch, best/, history, TensorBoard events, predictions and per-class metrics on val and test, summary.json.';

function fmt(v: unknown): string {
  return typeof v === 'number' ? v.toFixed(4) : 'undefined';
}

function humanSummary(dir: string, s: RunSummary): string {
  return [
    `run folder: ${dir}`,
    `val macro AUROC: ${fmt(s.val.macro_auroc)}`,
    ...(s.test ? [`test macro AUROC: ${fmt(s.test.macro_auroc)}`] : []),
    `best epoch: ${s.best_epoch ?? '-'} of ${String(s.epochs ?? '-')}`,
    `seconds: ${s.seconds.toFixed(1)} on ${s.engine}`,
    '',
  ].join('\n');
}

runMain(async () => {
  const { flags } = parseCli('train', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(`${usage('train', SUMMARY, FLAGS)}\nBenchmark names:\n\n${benchmarkGrammar()}\n`);
    return 0;
  }
  const common: ExperimentOptions = {
    workers: numberFlag('workers', flags.workers, { integer: true, min: 0 }),
    ...(flags['experiment-log'] !== undefined && { experimentLog: flags['experiment-log'] === 'none' ? false : flags['experiment-log'] }),
  };
  let exp: Experiment;
  if (flags.resume !== undefined) {
    const named = ['benchmark', 'data', 'out', 'weights', ...Object.keys(BENCHMARK_FLAGS)].filter((k) => flags[k as keyof typeof flags] !== undefined);
    if (named.length) {
      throw new MedtrainError(`--resume continues a run with its own settings: --${named[0]} cannot change them`, {
        code: 'bad-flag',
        column: `--${named[0]}`,
        hint: 'leave the benchmark flags out when resuming (only --engine, --workers, --experiment-log and --json apply)',
      });
    }
    exp = await Experiment.resume(flags.resume, { ...common, ...(flags.engine !== undefined && { engine: flags.engine }) });
  } else {
    if (!flags.benchmark) throw new MedtrainError('train needs --benchmark NAME (or --resume RUN)', { code: 'bad-flag', column: '--benchmark', hint: 'e.g. npm run train -- --benchmark chexpert_CWBCE_E3_B32' });
    const benchmark = Benchmark.parse(flags.benchmark).withFlags({ ...flags, engine: flags.engine ?? process.env.MEDTRAIN_ENGINE });
    exp = await Experiment.create(benchmark, { ...common, data: flags.data, out: flags.out, weights: flags.weights });
  }
  if (flags['dry-run']) {
    if (flags.json) process.stdout.write(`${JSON.stringify(exp.config)}\n`);
    else {
      const c = exp.config;
      process.stdout.write(
        `${exp.resuming ? 'would resume' : 'would train'} ${c.name}\n` +
          `  model ${c.model} at ${c.dim} px, ${c.classes.length} classes, ${c.loss} loss, ${c.optimizer} lr ${c.learningRate}, ${c.epochs} epochs of batch ${c.batchSize}\n` +
          `  data ${c.data.dir} (${c.data.source}${c.data.phantom ? ', made on first use' : ''})\n` +
          `  engine ${c.engine} on ${c.device}\n  run folder ${exp.dir}\n`,
      );
    }
    return 0;
  }
  const { dir, summary } = await exp.run();
  process.stdout.write(flags.json ? `${JSON.stringify({ ...summary, run: dir })}\n` : humanSummary(dir, summary));
  return 0;
});
