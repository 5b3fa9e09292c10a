/**
 * `npm run bench -- learning [--run DIR] [--benchmark NAME] [--no-peer]`: how well, not how fast.
 * medtrain's validation macro AUROC after each epoch of a run (the run named by --run, else the main
 * command's benchmark trained here first, into a temporary folder) beside PyTorch training the same
 * recipe on the same split: torchvision's DenseNet of the run's layout and head, the same images
 * with the same preprocessing, the run's class weights and loss, Adam at the run's learning rate,
 * the same epochs and batch size (bench/peers/learning_torch.py, /usr/bin/python3). Both sides'
 * validation predictions are scored by medtrain's metrics. Prints one JSON object.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { evaluateMultiLabel } from '../src/metrics/index.js';
import { Benchmark } from '../src/training/benchmark/benchmark.js';
import { Experiment } from '../src/training/experiment.js';
import { benchmarkOf, type RunConfig } from '../src/training/run/config.js';
import { loadRunData } from '../src/training/run/data.js';
import { RUN_FILES, RunStore } from '../src/training/run/store.js';
import { parseCli, runMain } from '../src/util/cli.js';
import { MedtrainError } from '../src/util/errors.js';
import { Contender, layoutOf } from './_shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN_BENCHMARK = 'chexpert_CWBCE_E3_B32';
const FLAGS = {
  run: { type: 'string', value: 'DIR', help: 'a finished run folder (default: train --benchmark first)' },
  benchmark: { type: 'string', value: 'NAME', default: MAIN_BENCHMARK, help: 'the benchmark to train when no --run is given' },
  'no-peer': { type: 'boolean', help: 'skip PyTorch' },
} as const;

const round = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(x * 10000) / 10000);

runMain(async () => {
  const { flags } = parseCli('bench -- learning', FLAGS, process.argv.slice(2));
  const tmp = mkdtempSync(join(tmpdir(), 'medtrain-learning-'));
  try {
    const dir = flags.run ?? (await train(flags.benchmark ?? MAIN_BENCHMARK, tmp));
    const read = <T>(file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8')) as T;
    const config = read<RunConfig>(RUN_FILES.config);
    const b = benchmarkOf(config, join(dir, RUN_FILES.config));
    const history = read<Record<string, number | null>[]>(RUN_FILES.historyJson);
    const summary = read<{ seconds: number; engine: string; bestEpoch: number }>(RUN_FILES.summary);
    const mine = history.map((h) => round(h.val_macro_auroc));
    const last = history[history.length - 1] ?? {};
    const mineByClass = Object.fromEntries(config.classes.map((c) => [c, round(last[`val_auroc/${c}`])]));
    const result: Record<string, unknown> = {
      harness: 'learning',
      run: config.name,
      data: { source: config.data.source, ...(config.data.phantom && { phantom: config.data.phantom }) },
      epochs: history.length,
      medtrain: { engine: summary.engine, val_macro_auroc: mine, best: Math.max(...mine.map((v) => v ?? -1)), last_epoch_auroc: mineByClass, run_seconds: round(summary.seconds) },
    };
    if (!flags['no-peer']) result.pytorch = await peer(dir, config, b, history.length, tmp);
    const theirs = (result.pytorch as { best?: number } | undefined)?.best;
    if (theirs) result.best_ratio = round((result.medtrain as { best: number }).best / theirs);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

async function train(name: string, tmp: string): Promise<string> {
  process.stderr.write(`[bench] learning: training ${name} with medtrain\n`);
  const exp = await Experiment.create(Benchmark.parse(name), { out: join(tmp, 'run'), progress: false, experimentLog: false });
  return (await exp.run()).dir;
}

/** PyTorch on the run's recipe and split: its validation macro AUROC per epoch. */
async function peer(dir: string, config: RunConfig, b: Benchmark, epochs: number, tmp: string): Promise<Record<string, unknown>> {
  if (b.optimizer !== 'adam' || !['BCE', 'CWBCE'].includes(b.loss)) {
    throw new MedtrainError('the PyTorch peer trains with Adam and BCE or CWBCE only', { code: 'bad-flag', column: '--run', value: `${b.optimizer}, ${b.loss}`, hint: 'compare a run of such a benchmark' });
  }
  const data = await loadRunData(config.data.dir, b, { dir, write: false }, { table: config.data.table });
  const C = data.classes.names.length;
  const rows = (p: { labels: Float32Array }) => Array.from({ length: p.labels.length / C }, (_, i) => Array.from(p.labels.subarray(i * C, (i + 1) * C)));
  const ones = new Array<number>(C).fill(1);
  const report = b.loss === 'CWBCE' ? await (await RunStore.open(dir)).readDatasetReport() : null;
  if (b.loss === 'CWBCE' && !report) throw new MedtrainError('the run has no readable dataset.json (its class weights)', { code: 'bad-run', file: join(dir, RUN_FILES.dataset) });
  const weights = report?.classWeights ?? { positive: ones, negative: ones };
  const spec = {
    train: { files: data.train.records.map((r) => r.path), labels: rows(data.train) },
    val: { files: data.val.records.map((r) => r.path), labels: rows(data.val) },
    weights: { positive: weights.positive, negative: weights.negative },
    dim: b.dim,
    batch: b.batchSize,
    workers: 1,
    threads: availableParallelism(),
    lr: b.learningRate,
    epochs,
    seed: 0,
    headUnits: config.head.units,
    ...layoutOf(b.model),
  };
  const specFile = join(tmp, 'peer.json');
  writeFileSync(specFile, JSON.stringify(spec));
  process.stderr.write(`[bench] learning: PyTorch trains the same recipe for ${epochs} epoch(s)\n`);
  const k = Contender.start('pytorch', '/usr/bin/python3', [join(here, 'peers', 'learning_torch.py'), specFile]);
  try {
    const curve: (number | null)[] = [];
    let seconds = 0;
    let byClass: Record<string, number | null> = {};
    for (let e = 0; e < epochs; e++) {
      const r = (await k.read()) as { seconds: number; val: number[][] };
      const report = evaluateMultiLabel(Float32Array.from(r.val.flat()), data.val.labels, C, { micro: false, classNames: data.classes.names });
      curve.push(round(report.macro.auroc));
      byClass = Object.fromEntries(Object.entries(report.classes).map(([c, r]) => [c, round(r.auroc)]));
      seconds = r.seconds;
    }
    return { val_macro_auroc: curve, best: Math.max(...curve.map((v) => v ?? -1)), last_epoch_auroc: byClass, train_seconds: round(seconds) };
  } catch (e) {
    return { error: (e as Error).message };
  } finally {
    k.close();
  }
}
