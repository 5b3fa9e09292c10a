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
 * The run folder (see run/store.ts) is created with config.json (exclusively: two runs never share a
 * folder, and a folder the run did not make is never written into), then the split CSVs and
 * dataset.json, checkpoints every epoch and best/, history, TensorBoard events and run.log while
 * training, and at the end the best model's predictions, labels and per-class metrics on val and
 * test, thresholds.json, dataset.json again (with every image skipped) and summary.json; one line
 * goes to the experiment log beside the run folder. Every file is written atomically, and a run
 * killed at any point continues with `Experiment.resume`: what a stopped run lacks is written then.
 *
 * "Best" has one meaning: the run's monitor (config.json `training.monitor`, default val_loss).
 *
 *   const exp = await Experiment.create(Benchmark.parse('chexpert_CWBCE_E3_B32'), { out: 'runs/a' });
 *   const { summary } = await exp.run();
 *   // later, after a crash: await (await Experiment.resume('runs/a')).run();
 */
import type * as tf from '@tensorflow/tfjs';
import { dirname, join, resolve } from 'node:path';
import { currentEngine, initBackend, type EngineInfo } from '../backend/engines.js';
import type { BadInputPolicy } from '../core/types.js';
import type { TableSpec } from '../data/dataset.js';
import type { ImageDataGenerator } from '../data/generator.js';
import { formatSkipped } from '../data/skipped.js';
import { createLoss } from '../losses/losses.js';
import { epochEvaluator } from '../metrics/epoch.js';
import { createModel, type Classifier } from '../models/classifier.js';
import { getModelSpec } from '../models/registry.js';
import { MedtrainError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import type { Benchmark } from './benchmark/benchmark.js';
import type { Callback, StopReason } from './callbacks/callback.js';
import { ClassifierSchedule } from './callbacks/classifier-schedule.js';
import { standardCallbacks } from './callbacks/index.js';
import type { ProgressOptions } from './callbacks/progress.js';
import { RunControl } from './callbacks/run-control.js';
import { createOptimizer } from './optimizers.js';
import { benchmarkOf, buildRunConfig, checkMonitor, DEFAULT_HEAD, DEFAULT_POLICIES, DEFAULT_TRAINING, resolveWeights, withDefaults, type HeadSettings, type RunConfig, type TrainingSettings } from './run/config.js';
import { runClassWeights } from './run/class-weights.js';
import { datasetReport, loadRunData, trainGenerator, evalGenerator } from './run/data.js';
import { ensurePhantom, type DataLocation } from './run/default-data.js';
import { evaluateSplit, writeFinalEvaluation, type SplitEvaluation } from './run/eval.js';
import { appendExperimentLog, readExperimentLog, type ExperimentLogEntry } from './run/experiment-log.js';
import { planRunData } from './run/quick-start.js';
import { RunStore, type RunSummary } from './run/store.js';
import { Trainer } from './trainer.js';

const log = createLogger('train');

/** Where runs go when no output folder is given: `models/<name>`, then `models/<name>-2`, … */
export const DEFAULT_RUNS_DIR = 'models';
/** The experiment log's name, in the folder that holds the run folder. */
export const EXPERIMENT_LOG_NAME = 'experiment-log.jsonl';

export interface ExperimentOptions {
  /** The dataset folder; default: $MEDTRAIN_DATA, ./data, or the phantom set (see run/default-data.ts). */
  data?: string | null;
  /** A generic label table in the data folder (neither CheXpert nor ChestX-ray14). */
  table?: TableSpec | null;
  /** The run folder: new, or an empty folder; default: a free `models/<name>[-N]`. */
  out?: string | null;
  /** The experiment log; false for none. Default: experiment-log.jsonl in the folder that holds the run folder. */
  experimentLog?: string | false;
  head?: Partial<HeadSettings>;
  /** Initial weights: 'auto' (default: ImageNet when its Keras file is on this machine, else random), 'imagenet', 'random' or a Keras weight file. */
  weights?: string;
  training?: Partial<TrainingSettings>;
  /** A bad label-table row: 'fail' (default) or 'skip' (left out; named on the console, in run.log and dataset.json). */
  onBadRow?: BadInputPolicy;
  /** A missing or unreadable image: 'skip' (default; named and counted the same way) or 'fail'. */
  onBadImage?: BadInputPolicy;
  /** Patients of the phantom set made when no data is found (default PHANTOM_RUN_DEFAULTS.patients). */
  phantomPatients?: number;
  /** Image-loading worker threads (default: cores − 1). */
  workers?: number;
  /** On-disk cache of prepared images (default none). */
  cache?: string | null;
  /** The progress bar (default on stderr); false for none. */
  progress?: ProgressOptions | false;
  /** More callbacks (after the standard ones). */
  callbacks?: Callback[];
  /** Aborting it (Ctrl-C in `medtrain train`) stops the run after the current step; it can be resumed from its last complete epoch. */
  signal?: AbortSignal;
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

/** A free run folder under `root`: `<name>`, else `<name>-2`, `<name>-3`, … (the run claims it exclusively). */
async function freeRunDir(root: string, name: string, from = 1): Promise<string> {
  for (let i = from; ; i++) {
    const dir = resolve(root, i === 1 ? name : `${name}-${i}`);
    if (!(await exists(dir))) return dir;
  }
}

function stopStatus(s: StopReason | null): ExperimentLogEntry['status'] {
  return s && s.kind !== 'early-stopping' ? 'stopped' : 'completed';
}

/** The message of an error, first line only (for the experiment log). */
function firstLine(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0]! : String(e);
}

export class Experiment {
  readonly benchmark: Benchmark;
  readonly config: RunConfig;
  /** Whether this continues a run that was stopped. */
  readonly resuming: boolean;
  private runDir: string;
  /** Whether the folder was chosen here (`models/<name>[-N]`): another free one is taken if a concurrent run claims it first. */
  private readonly defaultDir: boolean;
  private readonly opts: ExperimentOptions;
  /** A complete run whose experiment-log line is missing: run() adds it. */
  private logOnly = false;

  private constructor(benchmark: Benchmark, config: RunConfig, dir: string, resuming: boolean, opts: ExperimentOptions, defaultDir = false) {
    this.benchmark = benchmark;
    this.config = config;
    this.runDir = dir;
    this.resuming = resuming;
    this.opts = opts;
    this.defaultDir = defaultDir;
  }

  /** The run folder. */
  get dir(): string {
    return this.runDir;
  }

  /** The experiment log this run appends to, or null. */
  get experimentLog(): string | null {
    return this.opts.experimentLog === false ? null : resolve(this.opts.experimentLog ?? join(dirname(this.runDir), EXPERIMENT_LOG_NAME));
  }

  /**
   * A new run: resolves the data location, the run folder and every setting, and checks them (a
   * folder that is not free, a missing weight file and an unknown monitor are errors here, before
   * anything is written). Nothing is read or written until `run()` (this is what `train --dry-run` shows).
   */
  static async create(asked: Benchmark, opts: ExperimentOptions = {}): Promise<Experiment> {
    const { benchmark, data } = await planRunData(asked, { data: opts.data, phantomPatients: opts.phantomPatients });
    const spec = getModelSpec(benchmark.model);
    const training: TrainingSettings = { ...DEFAULT_TRAINING, ...opts.training };
    checkMonitor(training.monitor, benchmark.classNames());
    if (opts.out) await RunStore.checkFree(resolve(opts.out));
    const weights = await resolveWeights(benchmark.model, opts.weights, benchmark.dim);
    const engine = await startEngine(benchmark.engine);
    const head = { ...DEFAULT_HEAD, ...opts.head };
    const policies = { onBadRow: opts.onBadRow ?? DEFAULT_POLICIES.onBadRow, onBadImage: opts.onBadImage ?? DEFAULT_POLICIES.onBadImage };
    const config = buildRunConfig({ benchmark, engine, preprocessing: spec.preprocessing, head, weights, training, data, table: opts.table ?? null, policies });
    const dir = opts.out ? resolve(opts.out) : await freeRunDir(DEFAULT_RUNS_DIR, benchmark.format());
    return new Experiment(benchmark, config, dir, false, opts, !opts.out);
  }

  /**
   * Continue a run from its last complete epoch (model, optimizer state, RNG, epoch, learning rate and
   * callback state restored), on the engine it started on. What a stopped run lacks (split files,
   * dataset.json) is written first. Options about data and settings are ignored: config.json decides them.
   */
  static async resume(dir: string, opts: Pick<ExperimentOptions, 'experimentLog' | 'workers' | 'cache' | 'progress' | 'callbacks' | 'signal'> & { engine?: string } = {}): Promise<Experiment> {
    const store = await RunStore.open(dir);
    const config = withDefaults(await store.readConfig<RunConfig>());
    const benchmark = benchmarkOf(config, store.paths.config);
    if (await exists(store.paths.summary)) {
      // Complete; killed at most between summary.json and its experiment-log line, which is then added.
      const logged = new Experiment(benchmark, config, store.dir, true, opts);
      const logPath = logged.experimentLog;
      const entries = logPath ? ((await readExperimentLog(logPath).catch(() => null))?.entries ?? []) : [];
      if (logPath && !entries.some((e) => e.run === store.dir && (e.status === 'completed' || e.status === 'stopped'))) {
        logged.logOnly = true;
        return logged;
      }
      throw new MedtrainError('this run is complete: there is nothing to resume', {
        code: 'run-complete',
        file: store.dir,
        hint: `evaluate it (medtrain evaluate --run ${store.dir}) or start a new run with another --out`,
      });
    }
    const engine = await startEngine(benchmark.engine, opts.engine ?? config.engine);
    if (engine.engine !== config.engine) log.warn(`the run started on ${config.engine} and continues on ${engine.engine}: the weights will not match an uninterrupted run bit for bit`);
    return new Experiment(benchmark, config, store.dir, true, opts);
  }

  /** Claim the run folder: the chosen one, or (a default folder another run took first) the next free `<name>-N`. */
  private async claim(): Promise<RunStore> {
    for (;;) {
      try {
        return await RunStore.create(this.runDir, this.config);
      } catch (e) {
        if (!this.defaultDir || !(e instanceof MedtrainError) || (e.code !== 'run-exists' && e.code !== 'folder-not-empty')) throw e;
        this.runDir = await freeRunDir(DEFAULT_RUNS_DIR, this.config.name, 2);
      }
    }
  }

  /** Train, evaluate the best model on val and test, and write the whole run folder. */
  async run(): Promise<RunResult> {
    if (this.logOnly) return this.addMissingLogLine();
    const t0 = performance.now();
    const store = this.resuming ? await RunStore.open(this.runDir, { writable: true }) : await this.claim();
    const detachLog = store.attachLog();
    const logPath = this.experimentLog;
    const appendLog = (entry: Pick<ExperimentLogEntry, 'status'> & Record<string, unknown>) =>
      logPath ? appendExperimentLog({ time: new Date().toISOString(), name: this.config.name, run: store.dir, ...entry }, logPath) : Promise.resolve();
    const gens: ImageDataGenerator[] = [];
    let clf: Classifier | null = null;
    let optimizer: tf.Optimizer | null = null;
    const interrupted = () => this.opts.signal?.aborted === true;
    try {
      const c = this.config;
      log.info(`${this.resuming ? 'resuming' : 'starting'} ${c.name} in ${store.dir} on ${c.engine} (${c.device})`);
      const loc: DataLocation = { dir: c.data.dir, source: c.data.source, phantom: c.data.phantom };
      await ensurePhantom(loc);
      const b = this.benchmark;
      const data = await loadRunData(loc.dir, b, { dir: store.dir, write: true }, { table: c.data.table, onBadRow: c.data.onBadRow });
      if (data.skipped.length) log.warn(`left out ${data.skipped.length} bad label-table row(s) (--on-bad-row skip):\n  ${formatSkipped(data.skipped).join('\n  ')}`);
      const names = data.classes.names;
      const h = c.head;
      clf = await createModel(b.model, {
        numClasses: names.length,
        inputSize: b.dim,
        headUnits: h.units,
        dropout: h.dropout,
        pooling: h.pooling,
        warmupEpochs: h.warmupEpochs,
        weights: c.weights === 'random' ? null : c.weights,
        rng: new Rng(b.drawSeed).fork('model'),
      });
      store.modelMetadata = { classifier: clf.config, run: { name: c.name, classes: names } };
      store.keepCheckpoints = c.training.keepCheckpoints;
      const settings = { preprocessing: clf.preprocessing, workers: this.opts.workers, cache: this.opts.cache, onBadImage: c.data.onBadImage };
      const train = await trainGenerator(data.train, b, settings, names);
      gens.push(train);
      const val = await evalGenerator(data.val, b, settings);
      gens.push(val);
      const { stats, weights } = runClassWeights(data, b, train.epochLabels());
      const writeDatasetReport = () => store.writeDatasetReport(datasetReport(data, train.size, stats, weights, gens));
      if (!(await store.readDatasetReport())) await writeDatasetReport();
      const loss = createLoss(b.loss, { weights: { positive: weights.positive, negative: weights.negative } });
      optimizer = createOptimizer(b.optimizer, b.learningRate);
      const t = c.training;
      const trainer = new Trainer({
        model: clf.model,
        loss,
        optimizer,
        evaluate: epochEvaluator(),
        classNames: names,
        rng: new Rng(b.drawSeed).fork('trainer'),
        callbacks: [
          new RunControl(this.opts.signal),
          new ClassifierSchedule(clf),
          ...standardCallbacks({
            store,
            lrFactor: b.lrFactor,
            earlyStopping: t.earlyStopping ? { monitor: t.monitor, patience: t.earlyStopping.patience, restoreBest: true } : false,
            plateau: t.plateau ? { monitor: t.monitor, ...t.plateau } : false,
            bestMonitor: t.monitor,
            ...(t.tensorboard === false && { tensorboard: false }),
            ...(this.opts.progress !== undefined && { progress: this.opts.progress }),
          }),
          ...(this.opts.callbacks ?? []),
        ],
      });
      if (this.resuming) {
        const from = await store.resume(trainer);
        log.info(from === null ? 'no complete epoch to resume from: training from the start' : `resumed after epoch ${from} of ${b.epochs}`);
      }
      const fit = interrupted() ? null : await trainer.fit({ epochs: b.epochs, train, val });
      if (interrupted() || fit?.stopped?.kind === 'interrupted') {
        await writeDatasetReport();
        const last = await store.lastCheckpoint();
        const message = `${fit?.stopped?.message ?? 'interrupted'}; the run keeps ${last === null ? 'no complete epoch yet' : `its last complete epoch, ${last}`}`;
        log.warn(`${message}. Continue it with: medtrain train --resume ${store.dir}`);
        await appendLog({ status: 'interrupted', error: message });
        throw new MedtrainError(message, { code: 'interrupted', file: store.dir, hint: `continue it with: medtrain train --resume ${store.dir}` });
      }
      const chosen = await this.chooseBest(store, clf.model, fit!.stopped);
      const evals: Record<'val' | 'test', SplitEvaluation | null> = { val: await evaluateSplit(clf.model, loss, val), test: null };
      if (data.test && data.test.records.length) {
        const test = await evalGenerator(data.test, b, settings);
        gens.push(test);
        evals.test = await evaluateSplit(clf.model, loss, test);
      }
      await writeDatasetReport();
      const skippedImages = gens.reduce((n, g) => n + g.skipped.length, 0);
      if (skippedImages) log.warn(`skipped ${skippedImages} image(s) in all (each named above and in dataset.json)`);
      const seconds = (performance.now() - t0) / 1000;
      const summary: RunSummary = {
        ...(await writeFinalEvaluation(store, evals, names, t.thresholds)),
        bestEpoch: chosen.epoch,
        best: chosen,
        seconds,
        engine: c.engine,
        device: c.device,
        name: c.name,
        epochs: fit!.epochs,
        stopped: fit!.stopped,
        skipped: { rows: data.skipped.length, images: skippedImages },
      };
      await store.writeSummary(summary);
      await appendLog(this.finishedEntry(summary));
      const v = summary.val.macro_auroc;
      log.info(`done in ${seconds.toFixed(1)} s: val macro AUROC ${v === null || v === undefined ? 'undefined' : v.toFixed(4)} (best epoch ${chosen.epoch} by ${chosen.monitor}); the run is in ${store.dir}`);
      return { dir: store.dir, config: c, summary };
    } catch (e) {
      if (!(e instanceof MedtrainError && e.code === 'interrupted')) await appendLog({ status: 'failed', error: firstLine(e) }).catch(() => undefined);
      throw e;
    } finally {
      for (const g of gens) await g.close();
      optimizer?.dispose();
      clf?.dispose();
      detachLog();
    }
  }

  /** The experiment-log fields of a finished run. */
  private finishedEntry(summary: RunSummary): Pick<ExperimentLogEntry, 'status'> & Record<string, unknown> {
    const s = summary;
    return { status: stopStatus((s.stopped as StopReason | null) ?? null), summary: { val: s.val, test: s.test ?? null, bestEpoch: s.bestEpoch, monitor: this.config.training.monitor, seconds: s.seconds, engine: s.engine } };
  }

  /** A complete run whose experiment-log line is missing (killed just before it): add the line. */
  private async addMissingLogLine(): Promise<RunResult> {
    const store = await RunStore.open(this.runDir);
    const summary = await store.readJson<RunSummary>(store.paths.summary);
    await appendExperimentLog({ time: new Date().toISOString(), name: this.config.name, run: store.dir, ...this.finishedEntry(summary) }, this.experimentLog!);
    log.info(`the run was complete; added its missing line to ${this.experimentLog}`);
    return { dir: store.dir, config: this.config, summary };
  }

  /**
   * Load the model the run is evaluated with: best/ (the best epoch by the monitor); when no epoch had
   * a value of the monitor, the last complete epoch, said in the log. A run that stopped on a
   * non-finite loss before any epoch completed has nothing to evaluate: an error that says so.
   */
  private async chooseBest(store: RunStore, model: tf.LayersModel, stopped: StopReason | null): Promise<{ epoch: number; monitor: string; value: number | null; by: 'monitor' | 'last epoch' }> {
    const monitor = this.config.training.monitor;
    const best = await store.readCheckpointInfo('best').catch(() => null);
    if (best) {
      await store.loadModelWeights('best', model);
      return { epoch: best.info.epoch, monitor, value: best.info.best.value, by: 'monitor' };
    }
    const last = await store.lastCheckpoint();
    if (last === null) {
      const why = stopped?.kind === 'non-finite' ? `training diverged: ${stopped.message.split(';')[0]}` : 'no epoch completed';
      throw new MedtrainError(`${why}; no epoch was saved, so there is nothing to evaluate`, {
        code: stopped?.kind === 'non-finite' ? 'diverged' : 'no-checkpoint',
        file: store.dir,
        hint: stopped?.kind === 'non-finite' ? 'lower the learning rate (--learning-rate), or check the labels and the images; then start a new run' : 'start the run again',
      });
    }
    log.warn(`no epoch had a value of ${monitor} (it is undefined, e.g. an AUROC without positives in val): evaluating the last complete epoch, ${last}`);
    await store.loadModelWeights(last, model);
    return { epoch: last, monitor, value: null, by: 'last epoch' };
  }
}
