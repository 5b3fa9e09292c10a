/**
 * Experiment: one training run of a Benchmark, from a data folder to a complete run folder. A thin
 * composition of the rest of medtrain:
 *
 *   data      src/data        tables → classes, encoding, blank policy → patient-grouped split → generators
 *   model     src/models      createModel(benchmark.model, {numClasses, inputSize: dim, head, weights})
 *   loss      src/losses      createLoss(benchmark.loss, class weights from the training split after upsampling)
 *   metrics   src/metrics     epochEvaluator (every epoch), evaluateMultiLabel and chooseThresholds (the end)
 *   loop      src/training    Trainer, standardCallbacks, RunStore, the experiment log
 *
 * The run folder (see run/store.ts) gets config.json first, then the split CSVs and dataset.json,
 * checkpoints every epoch and best/, history, TensorBoard events and run.log while training, and at
 * the end the best model's predictions, labels and per-class metrics on val and test, thresholds.json
 * and summary.json; one line goes to the experiment log. Every file is written atomically.
 *
 *   const exp = await Experiment.create(Benchmark.parse('chexpert_CWBCE_E3_B32'), { out: 'runs/a' });
 *   const { summary } = await exp.run();
 *   // later, after a crash: await (await Experiment.resume('runs/a')).run();
 */
import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { currentEngine, initBackend, type EngineInfo } from '../backend/engines.js';
import type { ImageDataGenerator } from '../data/generator.js';
import { createLoss } from '../losses/index.js';
import { classWeightsForLoss, type ClassWeights } from '../losses/class-weights.js';
import { epochEvaluator } from '../metrics/index.js';
import { createModel, type Classifier } from '../models/classifier.js';
import { getModelSpec } from '../models/registry.js';
import { findImagenetWeights } from '../models/weights/imagenet.js';
import { MedtrainError } from '../util/errors.js';
import { exists, writeJsonAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import type { Benchmark } from './benchmark/benchmark.js';
import { ClassifierSchedule } from './callbacks/classifier-schedule.js';
import { standardCallbacks, type Callback, type ProgressOptions, type StopReason } from './callbacks/index.js';
import { ensurePhantom, locateData, type DataLocation } from './run/default-data.js';
import { appendExperimentLog, DEFAULT_EXPERIMENT_LOG } from './run/experiment-log.js';
import { createOptimizer } from './optimizers.js';
import { benchmarkOf, buildRunConfig, DEFAULT_HEAD, DEFAULT_TRAINING, type HeadSettings, type RunConfig, type TrainingSettings } from './run/config.js';
import type { TableSpec } from '../data/dataset.js';
import { loadRunData, trainGenerator, evalGenerator, trainingStats, type RunData } from './run/data.js';
import { evaluateSplit, writeFinalEvaluation, type SplitEvaluation } from './run/eval.js';
import { RUN_FILES, RunStore, type DatasetReport, type RunSummary } from './run/store.js';
import { Trainer } from './trainer.js';

const log = createLogger('train');

/**
 * The phantom quick start: a run on the phantom set medtrain makes (no data given or found) whose
 * benchmark names no model and no image side trains this compact DenseNet at 64 px, so that
 * `npm run train -- --benchmark chexpert_CWBCE_E3_B32` finishes in minutes on a CPU. The run says so,
 * and its config.json and name record the model and side it trained. Name a model or `_D<dim>`
 * (or pass --model / --dim) to train something else on the phantom set.
 */
export const PHANTOM_QUICK_START = Object.freeze({ model: 'DenseNetMini', dim: 64 });

/** The benchmark a run trains: `b`, or the quick start's model and side on the phantom set (see PHANTOM_QUICK_START). */
export function quickStart(b: Benchmark, data: DataLocation): Benchmark {
  if (data.source !== 'phantom' || b.given.has('model') || b.given.has('dim')) return b;
  return b.withOverrides(PHANTOM_QUICK_START);
}

/** Where runs go when no output folder is given: `models/<name>`, then `models/<name>-2`, … */
export const DEFAULT_RUNS_DIR = 'models';

export interface ExperimentOptions {
  /** The dataset folder; default: $MEDTRAIN_DATA, ./data, or the phantom set (see run/default-data.ts). */
  data?: string | null;
  /** A generic label table in the data folder (neither CheXpert nor ChestX-ray14). */
  table?: TableSpec | null;
  /** The run folder (new, or a folder without a run); default: a free `models/<name>[-N]`. */
  out?: string | null;
  /** The experiment log; false for none. Default models/experiment-log.jsonl. */
  experimentLog?: string | false;
  head?: Partial<HeadSettings>;
  /** Initial weights: 'auto' (default: ImageNet when its Keras file is on this machine, else random), 'imagenet', 'random' or a Keras weight file. */
  weights?: string;
  training?: Partial<TrainingSettings>;
  /** Patients of the phantom set made when no data is found (default PHANTOM_RUN_DEFAULTS.patients). */
  phantomPatients?: number;
  /** Image-loading worker threads (default: cores − 1). */
  workers?: number;
  /** On-disk cache of prepared images (default none). */
  cache?: string | null;
  /** The progress bar (default on stderr); false for none. */
  progress?: ProgressOptions | false;
  /** TensorBoard event files (default on). */
  tensorboard?: boolean;
  /** More callbacks (after the standard ones). */
  callbacks?: Callback[];
}

export interface RunResult {
  dir: string;
  config: RunConfig;
  summary: RunSummary;
}

async function startEngine(request: Benchmark['engine'], exact?: string): Promise<EngineInfo> {
  const want = exact ?? request;
  const cur = currentEngine();
  if (cur && (want === 'auto' || cur.engine === want)) return cur;
  // 'auto' leaves the choice to initBackend, which reads MEDTRAIN_ENGINE first.
  return initBackend(want === 'auto' ? undefined : want, { quiet: true });
}

async function resolveWeights(b: Benchmark, weights: string | undefined, inputSize: number): Promise<string> {
  const w = weights ?? 'auto';
  if (w === 'random' || w === 'none') return 'random';
  if (w !== 'auto') return w === 'imagenet' ? 'imagenet' : resolve(w);
  const spec = getModelSpec(b.model);
  try {
    await findImagenetWeights(spec, { inputSize });
    return 'imagenet';
  } catch {
    return 'random';
  }
}

/** A free run folder under `root`: `<name>`, else `<name>-2`, `<name>-3`, … */
async function freeRunDir(root: string, name: string): Promise<string> {
  for (let i = 1; ; i++) {
    const dir = resolve(root, i === 1 ? name : `${name}-${i}`);
    if (!(await exists(dir))) return dir;
  }
}

function stopStatus(s: StopReason | null): 'completed' | 'stopped' {
  return s && s.kind !== 'early-stopping' ? 'stopped' : 'completed';
}

export class Experiment {
  readonly benchmark: Benchmark;
  readonly config: RunConfig;
  /** The run folder. */
  readonly dir: string;
  /** Whether this continues a run that was stopped. */
  readonly resuming: boolean;
  private readonly opts: ExperimentOptions;

  private constructor(benchmark: Benchmark, config: RunConfig, dir: string, resuming: boolean, opts: ExperimentOptions) {
    this.benchmark = benchmark;
    this.config = config;
    this.dir = dir;
    this.resuming = resuming;
    this.opts = opts;
  }

  /**
   * A new run: starts the benchmark's engine, resolves the data location, the run folder and every
   * setting. Nothing is read or written until `run()` (this is what `train --dry-run` shows).
   */
  static async create(asked: Benchmark, opts: ExperimentOptions = {}): Promise<Experiment> {
    const where = { data: opts.data, phantomPatients: opts.phantomPatients };
    let data = locateData(asked.dataset, asked.dim, where);
    const benchmark = quickStart(asked, data);
    if (benchmark !== asked) {
      log.info(`${asked.format()} names no model and no image side: on the phantom set it trains the quick start, ${benchmark.model} at ${benchmark.dim} px, as ${benchmark.format()} (name a model or _D<dim> to train another)`);
      data = locateData(benchmark.dataset, benchmark.dim, where); // the phantom set at the quick start's side
    }
    const spec = getModelSpec(benchmark.model);
    const engine = await startEngine(benchmark.engine);
    const head = { ...DEFAULT_HEAD, ...opts.head };
    const training = { ...DEFAULT_TRAINING, ...opts.training };
    const weights = await resolveWeights(benchmark, opts.weights, benchmark.dim);
    const config = buildRunConfig({ benchmark, engine, preprocessing: spec.preprocessing, head, weights, training, data, table: opts.table ?? null });
    const dir = opts.out ? resolve(opts.out) : await freeRunDir(DEFAULT_RUNS_DIR, benchmark.format());
    return new Experiment(benchmark, config, dir, false, opts);
  }

  /**
   * Continue a run from its last complete epoch (model, optimizer state, RNG, epoch, learning rate and
   * callback state restored), on the engine it started on. Options about where data and settings come
   * from are ignored: config.json decides them.
   */
  static async resume(dir: string, opts: Omit<ExperimentOptions, 'data' | 'table' | 'out' | 'head' | 'weights' | 'training'> & { engine?: string } = {}): Promise<Experiment> {
    const store = await RunStore.open(dir);
    const config = await store.readConfig<RunConfig>();
    const benchmark = benchmarkOf(config, store.paths.config);
    if (await exists(store.paths.summary)) {
      throw new MedtrainError('this run is complete: there is nothing to resume', {
        code: 'run-complete',
        file: store.dir,
        hint: `evaluate it (npm run evaluate -- --run ${store.dir}) or start a new run with another --out`,
      });
    }
    const engine = await startEngine(benchmark.engine, opts.engine ?? config.engine);
    if (engine.engine !== config.engine) log.warn(`the run started on ${config.engine} and continues on ${engine.engine}: the weights will not match an uninterrupted run bit for bit`);
    const o: ExperimentOptions = { ...opts, data: config.data.dir, table: config.data.table, head: config.head, weights: config.weights, training: config.training };
    return new Experiment(benchmark, config, store.dir, true, o);
  }

  /** Train, evaluate the best model on val and test, and write the whole run folder. */
  async run(): Promise<RunResult> {
    const t0 = performance.now();
    const store = this.resuming ? await RunStore.open(this.dir, { writable: true }) : await RunStore.create(this.dir);
    const detachLog = store.attachLog();
    const logPath = this.opts.experimentLog === false ? null : (this.opts.experimentLog ?? DEFAULT_EXPERIMENT_LOG);
    const gens: ImageDataGenerator[] = [];
    let clf: Classifier | null = null;
    let optimizer: tf.Optimizer | null = null;
    try {
      if (!this.resuming) await store.writeConfig(this.config);
      log.info(`${this.resuming ? 'resuming' : 'starting'} ${this.config.name} in ${store.dir} on ${this.config.engine} (${this.config.device})`);
      const loc: DataLocation = { dir: this.config.data.dir, source: this.config.data.source, phantom: this.config.data.phantom };
      await ensurePhantom(loc);
      const b = this.benchmark;
      const data = await loadRunData(loc.dir, b, { dir: store.dir, write: !this.resuming }, { table: this.config.data.table });
      const names = data.classes.names;
      const h = this.config.head;
      clf = await createModel(b.model, {
        numClasses: names.length,
        inputSize: b.dim,
        headUnits: h.units,
        dropout: h.dropout,
        pooling: h.pooling,
        warmupEpochs: h.warmupEpochs,
        weights: this.config.weights === 'random' ? null : this.config.weights,
        rng: new Rng(b.seed).fork('model'),
      });
      store.modelMetadata = { classifier: clf.config, run: { name: this.config.name, classes: names } };
      const settings = { preprocessing: clf.preprocessing, workers: this.opts.workers, cache: this.opts.cache };
      const train = await trainGenerator(data.train, b, settings, names);
      gens.push(train);
      const val = await evalGenerator(data.val, b, settings);
      gens.push(val);
      const stats = trainingStats(data.train, data.classes, train.epochLabels());
      const weights = classWeightsForLoss(b.loss, stats, b.classWeightNorm, names);
      if (!this.resuming) await writeJsonAtomic(join(store.dir, RUN_FILES.dataset), datasetReport(data, train, stats, weights));
      const loss = createLoss(b.loss, { weights: { positive: weights.positive, negative: weights.negative } });
      optimizer = createOptimizer(b.optimizer, b.learningRate);
      const t = this.config.training;
      const trainer = new Trainer({
        model: clf.model,
        loss,
        optimizer,
        evaluate: epochEvaluator(),
        classNames: names,
        rng: new Rng(b.seed).fork('trainer'),
        callbacks: [
          new ClassifierSchedule(clf),
          ...standardCallbacks({
            store,
            lrFactor: b.lrFactor,
            earlyStopping: t.earlyStopping ? { monitor: t.monitor, patience: t.earlyStopping.patience, restoreBest: true } : false,
            plateau: t.plateau ? { monitor: t.monitor, ...t.plateau } : false,
            bestMonitor: t.monitor,
            ...(this.opts.tensorboard === false && { tensorboard: false }),
            ...(this.opts.progress !== undefined && { progress: this.opts.progress }),
          }),
          ...(this.opts.callbacks ?? []),
        ],
      });
      if (this.resuming) {
        const from = await store.resume(trainer);
        log.info(from === null ? 'no complete epoch to resume from: training from the start' : `resumed after epoch ${from} of ${b.epochs}`);
      }
      const fit = await trainer.fit({ epochs: b.epochs, train, val });
      // best/'s epoch and weights; its optimizer state is not needed here.
      const best = (await store.readCheckpointInfo('best'))?.info ?? null;
      if (best) await store.loadModelWeights('best', clf.model);
      const evals: Record<'val' | 'test', SplitEvaluation | null> = { val: await evaluateSplit(clf.model, loss, val), test: null };
      if (data.test && data.test.records.length) {
        const test = await evalGenerator(data.test, b, settings);
        gens.push(test);
        evals.test = await evaluateSplit(clf.model, loss, test);
      }
      const seconds = (performance.now() - t0) / 1000;
      const summary: RunSummary = {
        ...(await writeFinalEvaluation(store, evals, names, t.thresholds)),
        best_epoch: best?.epoch ?? null,
        seconds,
        engine: this.config.engine,
        device: this.config.device,
        name: this.config.name,
        epochs: fit.epochs,
        stopped: fit.stopped,
      };
      await store.writeSummary(summary);
      if (logPath) {
        await appendExperimentLog({ time: new Date().toISOString(), name: this.config.name, run: store.dir, status: stopStatus(fit.stopped), summary: { val: summary.val, test: summary.test ?? null, best_epoch: summary.best_epoch, seconds, engine: summary.engine } }, logPath);
      }
      const v = summary.val.macro_auroc;
      log.info(`done in ${seconds.toFixed(1)} s: val macro AUROC ${v === null || v === undefined ? 'undefined' : v.toFixed(4)} (best epoch ${summary.best_epoch ?? '-'}); the run is in ${store.dir}`);
      return { dir: store.dir, config: this.config, summary };
    } catch (e) {
      if (logPath) {
        const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
        await appendExperimentLog({ time: new Date().toISOString(), name: this.config.name, run: store.dir, status: 'failed', error: message }, logPath).catch(() => undefined);
      }
      throw e;
    } finally {
      for (const g of gens) await g.close();
      optimizer?.dispose();
      clf?.dispose();
      detachLog();
    }
  }
}

function datasetReport(data: RunData, train: ImageDataGenerator, stats: ReturnType<typeof trainingStats>, w: ClassWeights): DatasetReport {
  return {
    kind: data.kind,
    root: data.root,
    tables: data.tables,
    sizes: { train: data.train.records.length, val: data.val.records.length, test: data.test?.records.length ?? 0, trainPerEpoch: train.size },
    classes: data.classes.names,
    trainStats: Object.fromEntries(data.classes.names.map((n, i) => [n, stats[i]!])),
    classWeights: { positive: w.positive, negative: w.negative, scheme: w.scheme },
    skipped: { rows: data.skipped.length, images: train.skipped.length, items: [...data.skipped, ...train.skipped] },
  };
}
