/**
 * `npm run bench -- training [flags]`: whole training epochs through medtrain's own pipeline beside
 * the same epochs in PyTorch, on the same machine in the same run, with ratios. Two cases:
 *
 *   main         the main command's config (`npm run train -- --benchmark chexpert_CWBCE_E3_B32` with
 *                no data): the cached phantom set, and on it the phantom quick start's model
 *                DenseNetMini (denseNet([2,2,2,2]) with growth rate 32 and a 64-filter stem) at 64 px,
 *                batch 32, with the default head (Dense(1024, relu), Dense(14, sigmoid)). --model,
 *                --dim, --batch and --head-units change it.
 *   densenet121  DenseNet121 at 128 px on a small phantom set (the same head, batch 32).
 *
 * medtrain's side is what Experiment runs: loadRunData (CheXpert N14 classes, the benchmark's split)
 * → trainGenerator (ImageDataGenerator decoding the JPEGs in its worker threads, the model's "torch"
 * preprocessing) → Trainer.fit with the CWBCE loss (class weights from the training split) and Adam.
 * PyTorch's (bench/peers/training_torch.py, /usr/bin/python3) decodes the same files with PIL in a
 * DataLoader with as many worker processes, and trains torchvision's DenseNet class with the same
 * layout, head, loss, class weights and optimizer.
 *
 * Every contender (each engine, and PyTorch) runs in a process of its own and trains one warm-up
 * epoch; then the timed epochs are taken in rounds, one epoch per contender in turn, so that all see
 * the same spells of load on a shared machine. Reported per contender: images per epoch, epoch
 * seconds (median of the timed epochs), img/s, and img per CPU-second (all threads, worker threads
 * and worker processes included), which other load on the machine disturbs less than wall time.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { initBackend, pickAuto, probeEngines, resolveEngineRequest, shutdownBackend } from '../src/backend/index.js';
import { makePhantom } from '../src/data/phantom/write.js';
import { classWeightsForLoss } from '../src/losses/class-weights.js';
import { createLoss } from '../src/losses/index.js';
import { createModel } from '../src/models/classifier.js';
import type { PreprocessingMode } from '../src/core/preprocessing.js';
import { Benchmark } from '../src/training/benchmark/benchmark.js';
import { PHANTOM_RUN_DEFAULTS, phantomCacheDir, phantomParamsFor } from '../src/training/run/default-data.js';
import { createOptimizer } from '../src/training/optimizers.js';
import { DEFAULT_HEAD } from '../src/training/run/config.js';
import { loadRunData, trainGenerator, trainingStats } from '../src/training/run/data.js';
import { Trainer, type Callback } from 'medtrain';
import { numberFlag, parseCli, runMain, usage } from '../src/util/cli.js';
import { Rng } from '../src/util/rng.js';
import { Contender, layoutOf, listFlag, median } from './_shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN_BENCHMARK = 'chexpert_CWBCE_E3_B32';
const DEFAULT_WORKERS = Math.max(1, Math.min(8, cpus().length - 1)); // the generator's own default

const FLAGS = {
  cases: { type: 'string', value: 'LIST', default: 'main,densenet121', help: 'cases to run: main, densenet121' },
  engines: { type: 'string', value: 'LIST', help: 'medtrain engines, comma-separated (default: the fastest present)' },
  epochs: { type: 'string', value: 'N', default: '2', help: 'epochs per contender and case: one warm-up, then N-1 timed, one per round' },
  benchmark: { type: 'string', value: 'NAME', default: MAIN_BENCHMARK, help: 'the main case: benchmark whose loss, optimizer, learning rate, classes and split it uses' },
  model: { type: 'string', value: 'M', default: 'DenseNetMini', help: 'the main case: model (DenseNetMini or a registry DenseNet)' },
  dim: { type: 'string', value: 'PX', default: '64', help: 'the main case: image side' },
  batch: { type: 'string', value: 'N', default: '32', help: 'the main case: batch size' },
  'head-units': { type: 'string', value: 'N', default: String(DEFAULT_HEAD.units), help: 'hidden units of the head (0: GAP then Dense(classes))' },
  patients: { type: 'string', value: 'N', default: '1000', help: `the main case: phantom patients (throughput does not depend on it; the main command's set has ${PHANTOM_RUN_DEFAULTS.patients})` },
  'dn121-patients': { type: 'string', value: 'N', default: '40', help: 'the densenet121 case: phantom patients' },
  'dn121-batch': { type: 'string', value: 'N', default: '32', help: 'the densenet121 case: batch size' },
  workers: { type: 'string', value: 'N', default: String(DEFAULT_WORKERS), help: 'image-loading workers on both sides (medtrain threads, DataLoader processes)' },
  threads: { type: 'string', value: 'N', help: 'PyTorch intra-op threads (default: one per core, as tfjs-node)' },
  peers: { type: 'string', value: 'LIST', default: 'pytorch', help: "'pytorch' or 'none'" },
  keep: { type: 'boolean', help: 'keep the temporary folder (split CSVs, the peer file list)' },
  worker: { type: 'string', value: 'JSON', help: '(internal) one medtrain contender in this process' },
} as const;

/** A DenseNet's layout: torchvision.models.DenseNet(growth_rate, block_config, num_init_features, bn_size=4). */
interface CaseConfig {
  case: string;
  benchmark: string;
  model: string;
  dim: number;
  batch: number;
  headUnits: number;
  patients: number;
  workers: number;
}

/** What a medtrain contender process is told. */
interface WorkerJob extends CaseConfig {
  engine: string;
  data: string;
  runDir: string;
  /** Where to write the file list, labels and class weights for the peer (the first engine only). */
  peerSpec: string | null;
  threads: number;
}

/** The classifier, as Experiment builds it. */
async function buildModel(job: WorkerJob, classes: number, rng: Rng): Promise<{ model: tf.LayersModel; source: string; preprocessing: PreprocessingMode }> {
  const clf = await createModel(job.model, { numClasses: classes, inputSize: job.dim, headUnits: job.headUnits, rng });
  return { model: clf.model, source: `createModel('${clf.name}')`, preprocessing: clf.preprocessing };
}

/** One medtrain contender: build as Experiment does, train a warm-up epoch, then one epoch per stdin line. */
async function worker(job: WorkerJob): Promise<void> {
  const info = await initBackend(job.engine, { quiet: true });
  const b = Benchmark.parse(job.benchmark).withOverrides({ dim: job.dim, batchSize: job.batch });
  const data = await loadRunData(job.data, b, { dir: job.runDir, write: true });
  const names = data.classes.names;
  const { model, source, preprocessing } = await buildModel(job, names.length, new Rng(b.seed).fork('model'));
  const train = await trainGenerator(data.train, b, { preprocessing, workers: job.workers }, names);
  const stats = trainingStats(data.train, data.classes, train.epochLabels());
  const weights = classWeightsForLoss(b.loss, stats, b.classWeightNorm, names);
  const loss = createLoss(b.loss, { weights: { positive: weights.positive, negative: weights.negative } });
  const optimizer = createOptimizer(b.optimizer, b.learningRate);
  if (job.peerSpec) {
    const C = names.length;
    const labels = data.train.records.map((_, i) => Array.from(data.train.labels.subarray(i * C, (i + 1) * C)));
    const l = layoutOf(job.model);
    const spec = { files: data.train.records.map((r) => r.path), labels, weights: { positive: weights.positive, negative: weights.negative }, dim: job.dim, batch: job.batch, workers: job.workers, threads: job.threads, lr: b.learningRate, headUnits: job.headUnits, ...l };
    writeFileSync(job.peerSpec, JSON.stringify(spec));
  }
  let t0 = 0;
  let c0 = process.cpuUsage();
  let last: Record<string, unknown> = {};
  const timer: Callback = {
    name: 'bench-epoch-timer',
    onEpochBegin: () => {
      c0 = process.cpuUsage(); // the whole process: tfjs' threads and the generator's worker threads
      t0 = performance.now();
    },
    onEpochEnd: (_ctx, _epoch, logs) => {
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      last = { images: train.size, seconds, cpuSeconds: (c.user + c.system) / 1e6, loss: logs.loss ?? null };
    },
  };
  const trainer = new Trainer({ model, loss, optimizer, callbacks: [timer] });
  let epochs = 0;
  const epoch = async () => {
    await trainer.fit({ epochs: ++epochs, train });
    return last;
  };
  try {
    const warmup = await epoch();
    const trainable = model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, d) => a * (d ?? 1), 1), 0);
    process.stdout.write(`${JSON.stringify({ ready: true, engine: info.engine, device: info.device, modelSource: source, trainableParams: trainable, classes: names.length, warmup })}\n`);
    for await (const _ of createInterface({ input: process.stdin })) process.stdout.write(`${JSON.stringify(await epoch())}\n`);
  } finally {
    await train.close();
    optimizer.dispose();
    model.dispose();
  }
}

interface Side {
  contender: Contender | null;
  result: Record<string, unknown>;
  epochs: Record<string, unknown>[];
}

function summarise(s: Side): void {
  if (!s.epochs.length) return;
  const num = (k: string) => s.epochs.map((e) => e[k] as number);
  const images = num('images')[0]!;
  const seconds = median(num('seconds'));
  const cpuSeconds = median(num('cpuSeconds'));
  Object.assign(s.result, {
    imagesPerEpoch: images,
    epochSeconds: seconds,
    imgPerSec: images / seconds,
    cpuSeconds,
    imgPerCpuSecond: images / cpuSeconds,
    timedEpochs: s.epochs.map(({ seconds: sec, cpuSeconds: cpu, loss }) => ({ seconds: sec, cpuSeconds: cpu, loss })),
  });
}

async function runCase(c: CaseConfig, engines: string[], peers: string[], epochs: number, threads: number, tmp: string): Promise<Record<string, unknown>> {
  const phantom = phantomParamsFor(c.dim, c.patients);
  const dataDir = phantomCacheDir(phantom);
  process.stderr.write(`[bench] ${c.case}: phantom set (${c.patients} patients, ${phantom.size} px) in ${dataDir}\n`);
  const made = await makePhantom({ out: dataDir, patients: phantom.patients, size: phantom.size, seed: phantom.seed, reuse: true });
  const peerSpec = join(tmp, `${c.case}-peer.json`);
  const sides: Record<string, Side> = {};
  const start = async (name: string, make: () => Contender) => {
    process.stderr.write(`[bench] ${c.case}: ${name} builds and trains its warm-up epoch\n`);
    const side: Side = { contender: null, result: {}, epochs: [] };
    sides[name] = side;
    const k = make();
    try {
      const hello = await k.read();
      if (hello.error) throw new Error(String(hello.error));
      const { ready: _ready, ...meta } = hello;
      Object.assign(side.result, meta);
      side.contender = k;
    } catch (e) {
      side.result.error = (e as Error).message;
      k.close();
    }
  };
  // Build and warm up one contender at a time, so that they never compete for the cores.
  for (const [i, engine] of engines.entries()) {
    const job: WorkerJob = { ...c, engine, data: dataDir, runDir: join(tmp, `${c.case}-${engine}`), peerSpec: i === 0 ? peerSpec : null, threads };
    await start(engine, () => Contender.start(engine, process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--worker', JSON.stringify(job)], { MEDTRAIN_LOG_LEVEL: 'error' }));
  }
  if (peers.includes('pytorch')) {
    if (sides[engines[0]!]?.contender) await start('pytorch', () => Contender.start('pytorch', '/usr/bin/python3', [join(here, 'peers', 'training_torch.py'), peerSpec]));
    else sides.pytorch = { contender: null, result: { error: `no file list: ${engines[0]} did not start` }, epochs: [] };
  }
  for (let r = 1; r < epochs; r++) {
    for (const [name, s] of Object.entries(sides)) {
      if (!s.contender) continue;
      process.stderr.write(`[bench] ${c.case}: ${name} timed epoch ${r}\n`);
      try {
        s.epochs.push(await s.contender.request('epoch'));
      } catch (e) {
        s.result.error = (e as Error).message;
        s.contender = null;
      }
    }
  }
  for (const s of Object.values(sides)) {
    s.contender?.close();
    await s.contender?.exited();
    summarise(s);
  }
  const ratios: Record<string, number> = {};
  const cpuRatios: Record<string, number> = {};
  for (const e of engines) {
    for (const p of peers) {
      const a = sides[e]!.result;
      const b = sides[p]?.result;
      if (typeof a.imgPerSec !== 'number' || typeof b?.imgPerSec !== 'number') continue;
      ratios[`${e}/${p}`] = a.imgPerSec / b.imgPerSec;
      cpuRatios[`${e}/${p}`] = (a.imgPerCpuSecond as number) / (b.imgPerCpuSecond as number);
    }
  }
  const { case: name, benchmark, patients, ...setup } = c;
  return {
    case: name,
    benchmark,
    ...setup,
    torchLayout: layoutOf(c.model),
    data: { phantom: dataDir, patients, size: phantom.size, images: made.images, reused: made.reused },
    medtrain: Object.fromEntries(engines.map((e) => [e, sides[e]!.result])),
    peers: Object.fromEntries(peers.map((p) => [p, sides[p]!.result])),
    ratios,
    cpuRatios,
  };
}

runMain(async () => {
  const { flags } = parseCli('bench -- training', FLAGS, process.argv.slice(2));
  if (flags.worker) {
    try {
      await worker(JSON.parse(flags.worker) as WorkerJob);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ error: String((e as Error)?.message ?? e).split('\n')[0] })}\n`);
    }
    shutdownBackend();
    return;
  }
  if (flags.help) {
    process.stdout.write(usage('bench -- training', "Epoch time and img/s of medtrain's training pipeline beside PyTorch's: the main command's config and DenseNet121 at 128 px.", FLAGS));
    return;
  }
  const int = (name: string, v: string | undefined, min: number) => numberFlag(name, v, { integer: true, min })!;
  const cases = listFlag('cases', flags.cases!, ['main', 'densenet121']);
  const peers = listFlag('peers', flags.peers!, ['pytorch']);
  const epochs = int('epochs', flags.epochs, 2);
  const workers = int('workers', flags.workers, 0);
  const threads = flags.threads ? int('threads', flags.threads, 1) : cpus().length;
  const headUnits = int('head-units', flags['head-units'], 0);
  const engines = flags.engines ? listFlag('engines', flags.engines, ['tensorflow', 'webgpu', 'wasm', 'cpu']).map((e) => resolveEngineRequest(e) as string) : [pickAuto(await probeEngines()).name];
  const main: CaseConfig = {
    case: 'main',
    benchmark: Benchmark.parse(flags.benchmark!).format(),
    model: flags.model!,
    dim: int('dim', flags.dim, 32),
    batch: int('batch', flags.batch, 1),
    headUnits,
    patients: int('patients', flags.patients, 2),
    workers,
  };
  layoutOf(main.model);
  const dn121: CaseConfig = { ...main, case: 'densenet121', model: 'DenseNet121', dim: 128, batch: int('dn121-batch', flags['dn121-batch'], 1), patients: int('dn121-patients', flags['dn121-patients'], 2) };
  const tmp = mkdtempSync(join(tmpdir(), 'medtrain-bench-training-'));
  const load0 = loadavg();
  const t0 = performance.now();
  try {
    const results: Record<string, unknown>[] = [];
    for (const c of [main, dn121].filter((x) => cases.includes(x.case))) results.push(await runCase(c, engines, peers, epochs, threads, tmp));
    const round = (xs: number[]) => xs.map((l) => Math.round(l * 100) / 100);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'training',
        epochs: { warmup: 1, timed: epochs - 1 },
        pipeline:
          "medtrain: loadRunData → trainGenerator (ImageDataGenerator: JPEG decode, stretch to dim, 'torch' normalisation, worker threads) → Trainer.fit, CWBCE with the training split's class weights, Adam; " +
          'PyTorch: PIL Dataset → DataLoader (worker processes) → torchvision DenseNet with the same head, loss, class weights and Adam',
        machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavgBefore: round(load0), loadavgAfter: round(loadavg()) },
        workers,
        pytorchThreads: threads,
        seconds: (performance.now() - t0) / 1000,
        cases: results,
      })}\n`,
    );
  } finally {
    if (!flags.keep) rmSync(tmp, { recursive: true, force: true });
  }
});
