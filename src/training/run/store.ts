/**
 * The run folder: everything one training run leaves behind, each file written atomically.
 *
 *   config.json                 the full resolved config (benchmark, versions, engine, device)
 *   split-train.csv, split-val.csv, split-test.csv   the cases of each split (written by the data code)
 *   checkpoints/epoch-001/      model.json + group1-shard*.bin (tfjs layers format, with the
 *                               classifier's config as metadata; src/models/weights/tfjs-io.ts),
 *                               optimizer.json + optimizer.bin, checkpoint.json (trainer state, the epoch's logs)
 *   best/                       the same, for the best epoch by the checkpoint monitor
 *   dataset.json                sizes, per-class counts of what training sees, class weights, skipped rows
 *   history.csv, history.json   every metric per epoch, per class too
 *   predictions-{val,test}.csv, labels-{val,test}.csv, metrics-{val,test}.csv   the best model's
 *   thresholds.json             operating thresholds per class, chosen on val
 *   calibration.json, predictions-{val,test}-calibrated.csv   temperature scaling fitted on val
 *                               (`evaluate --calibrate`; run/calibrate.ts)
 *   summary.json
 *   reevaluation.{csv,json}     every saved epoch on val and test (reevaluate)
 *   tensorboard/{train,validation,batch}/   event files
 *   run.log                     the run's log, JSON lines
 *
 * A checkpoint folder is filled under a temporary name and renamed into place (writeDirAtomic), so
 * a folder named epoch-NNN is always complete: a kill leaves at most a temporary folder, which the
 * next open removes.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { createFileExclusive, ensureWritableDir, exists, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { faultPoint } from '../../util/faults.js';
import { addLogSink, fileLogSink } from '../../util/logger.js';
import type { EpochLogs, TrainerState } from '../callbacks/callback.js';
import type { BestMark, CheckpointData, CheckpointSink, CheckpointSource } from '../callbacks/checkpoint.js';
import { fileSystemIO, saveModel } from '../../models/weights/tfjs-io.js';
import { decodeSnapshot, encodeSnapshot, type OptimizerManifest, type OptimizerSnapshot } from '../optimizers.js';
import { toCsv } from '../../util/csv.js';
import type { Trainer } from '../trainer.js';

export const RUN_FILES = {
  config: 'config.json',
  splitTrain: 'split-train.csv',
  splitVal: 'split-val.csv',
  splitTest: 'split-test.csv',
  checkpoints: 'checkpoints',
  best: 'best',
  historyCsv: 'history.csv',
  historyJson: 'history.json',
  dataset: 'dataset.json',
  predictionsVal: 'predictions-val.csv',
  predictionsTest: 'predictions-test.csv',
  labelsVal: 'labels-val.csv',
  labelsTest: 'labels-test.csv',
  metricsVal: 'metrics-val.csv',
  metricsTest: 'metrics-test.csv',
  thresholds: 'thresholds.json',
  calibration: 'calibration.json',
  calibratedVal: 'predictions-val-calibrated.csv',
  calibratedTest: 'predictions-test-calibrated.csv',
  reevaluationCsv: 'reevaluation.csv',
  reevaluationJson: 'reevaluation.json',
  summary: 'summary.json',
  tensorboard: 'tensorboard',
  log: 'run.log',
} as const;

export type RunPaths = { -readonly [K in keyof typeof RUN_FILES]: string };

const CHECKPOINT_JSON = 'checkpoint.json';
const OPTIMIZER_JSON = 'optimizer.json';
const OPTIMIZER_BIN = 'optimizer.bin';

/** checkpoint.json: what a checkpoint folder says about itself. */
export interface CheckpointInfo {
  format: 'medtrain-checkpoint/1';
  /** The epoch (1-based) at whose end it was written. */
  epoch: number;
  logs: EpochLogs;
  best: BestMark;
  state: TrainerState;
}

export interface LoadedCheckpoint extends CheckpointInfo {
  dir: string;
  optimizer: OptimizerSnapshot;
}

/** summary.json. */
export interface RunSummary {
  val: Record<string, number | null>;
  test?: Record<string, number | null>;
  bestEpoch: number | null;
  seconds: number;
  engine: string;
  [k: string]: unknown;
}

function pad(epoch: number): string {
  return String(epoch).padStart(3, '0');
}

/** A temporary name left by writeFileAtomic / writeDirAtomic: `.<name>.tmp-<pid>-<hex>`. */
const TEMP = /^\..+\.tmp-(\d+)-[0-9a-f]+$/;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** dataset.json: what the run's data turned out to be. */
export interface DatasetReport {
  kind: string;
  root: string;
  tables: string[];
  sizes: { train: number; val: number; test: number; trainPerEpoch: number };
  classes: string[];
  /** Per class, over what training sees (after upsampling). */
  trainStats: Record<string, { positive: number; negative: number; uncertain: number; blank: number; masked: number }>;
  classWeights: { positive: number[]; negative: number[]; scheme: string };
  skipped: { rows: number; images: number; items: unknown[] };
}

/**
 * Load the weights saved in `dir` (tfjs layers format, shards checked against their SHA-256) into an
 * existing model: by name when every name matches, otherwise by position (as Keras pairs weights),
 * checking each shape. Nothing is written unless every weight fits.
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const artifacts = await fileSystemIO(dir).load!();
  const specs = artifacts.weightSpecs ?? [];
  const named = tf.io.decodeWeights(artifacts.weightData ?? new ArrayBuffer(0), specs);
  const file = join(dir, 'model.json');
  try {
    const targets = model.weights;
    const byName = targets.every((w) => named[w.originalName] !== undefined) && new Set(targets.map((w) => w.originalName)).size === targets.length;
    if (!byName && specs.length !== targets.length) {
      throw new MedtrainError(`the saved model has ${specs.length} weights, this model ${targets.length}`, { code: 'weights-mismatch', file, hint: 'load a checkpoint of the same model' });
    }
    const values = targets.map((w, i) => {
      const t = byName ? named[w.originalName]! : named[specs[i]!.name]!;
      if (t.shape.length !== w.shape.length || t.shape.some((d, k) => d !== w.shape[k])) {
        throw new MedtrainError(`weight ${w.originalName}: saved shape [${t.shape}] differs from the model's [${w.shape}]`, { code: 'weights-mismatch', file });
      }
      return t;
    });
    model.setWeights(values);
  } finally {
    tf.dispose(Object.values(named));
  }
}

export class RunStore implements CheckpointSink, CheckpointSource {
  readonly dir: string;
  readonly paths: RunPaths;
  /** Saved in every checkpoint's model.json (userDefinedMetadata), e.g. `{classifier: config}` so loadClassifier rebuilds it. */
  modelMetadata: Record<string, unknown> = {};
  /** Epoch checkpoints kept after each save: the last N and the best epoch's (best/ is always kept); null keeps every one. */
  keepCheckpoints: number | null = null;

  private constructor(dir: string) {
    this.dir = resolve(dir);
    this.paths = Object.fromEntries(Object.entries(RUN_FILES).map(([k, f]) => [k, join(this.dir, f)])) as RunPaths;
  }

  /**
   * Whether `dir` can take a new run, without touching it: it does not exist, or it is an empty
   * folder (temporary files a killed writer left count as empty). A folder that holds a run, or
   * anything else, is refused with an error naming it: a run never writes into a folder it did not make.
   */
  static async checkFree(dir: string): Promise<void> {
    const s = new RunStore(dir);
    let names: string[];
    try {
      names = await fsp.readdir(s.dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // a new folder (ensureWritableDir says if it cannot be made)
      throw e;
    }
    if (names.includes(RUN_FILES.config)) {
      throw new MedtrainError('a run is already in this folder', { code: 'run-exists', file: s.dir, hint: `continue it with --resume ${s.dir}, or write the new run elsewhere (--out)` });
    }
    const other = names.filter((n) => !TEMP.test(n));
    if (other.length) {
      throw new MedtrainError(`the folder exists and is not a run folder (it holds ${listForMessage(other.map((n) => `'${n}'`), 5)}): a run never writes into a folder it did not make`, {
        code: 'folder-not-empty',
        file: s.dir,
        hint: `give --out a new or empty folder, e.g. ${join(s.dir, 'run')}`,
      });
    }
  }

  /**
   * A new run in `dir`: the folder must be new or empty (checkFree); it is created and config.json
   * is created in it exclusively, so of two runs started into one folder only one gets it (the
   * other fails with 'run-exists').
   */
  static async create(dir: string, config: unknown): Promise<RunStore> {
    await RunStore.checkFree(dir);
    const s = new RunStore(dir);
    await ensureWritableDir(s.dir, 'run folder');
    await s.removeTemporaries();
    if (!(await createFileExclusive(s.paths.config, `${JSON.stringify(config, null, 2)}\n`))) {
      throw new MedtrainError('a run is already in this folder', { code: 'run-exists', file: s.dir, hint: `another run took it first: write the new run elsewhere (--out), or continue that one with --resume ${s.dir}` });
    }
    return s;
  }

  /** An existing run (to resume, evaluate, reevaluate). */
  static async open(dir: string, o: { writable?: boolean } = {}): Promise<RunStore> {
    const s = new RunStore(dir);
    if (!(await exists(s.paths.config))) {
      throw new MedtrainError('not a run folder (no config.json)', { code: 'not-a-run', file: s.dir, hint: 'give the folder a training run wrote (it holds config.json and checkpoints/)' });
    }
    if (o.writable) {
      await ensureWritableDir(s.dir, 'run folder');
      await s.removeTemporaries();
    }
    return s;
  }

  /** Remove what killed writers left (temporary files and folders of dead processes). */
  async removeTemporaries(): Promise<string[]> {
    const removed: string[] = [];
    for (const d of [this.dir, join(this.dir, RUN_FILES.checkpoints)]) {
      let names: string[];
      try {
        names = await fsp.readdir(d);
      } catch {
        continue;
      }
      for (const n of names) {
        const m = TEMP.exec(n);
        if (!m || alive(Number(m[1]))) continue;
        await fsp.rm(join(d, n), { recursive: true, force: true });
        removed.push(join(d, n));
      }
    }
    return removed;
  }

  async readConfig<T = unknown>(): Promise<T> {
    return this.readJson<T>(this.paths.config);
  }

  async writeDatasetReport(report: DatasetReport): Promise<void> {
    await writeJsonAtomic(this.paths.dataset, report);
  }

  /** dataset.json (class weights among it), or null when the run has none or it cannot be read. */
  async readDatasetReport(): Promise<DatasetReport | null> {
    return this.readJson<DatasetReport>(join(this.dir, RUN_FILES.dataset)).catch(() => null);
  }

  async readJson<T>(file: string): Promise<T> {
    let text: string;
    try {
      text = await fsp.readFile(file, 'utf8');
    } catch (e) {
      throw new MedtrainError('cannot read a run file', { code: 'bad-run', file, hint: (e as Error).message, cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new MedtrainError(`not valid JSON: ${(e as Error).message}`, { code: 'bad-run', file, cause: e });
    }
  }

  checkpointDir(epoch: number | 'best'): string {
    return epoch === 'best' ? this.paths.best : join(this.paths.checkpoints, `epoch-${pad(epoch)}`);
  }

  /** Complete checkpoints, by epoch (1-based), ascending. */
  async listCheckpoints(): Promise<number[]> {
    let names: string[];
    try {
      names = await fsp.readdir(this.paths.checkpoints);
    } catch {
      return [];
    }
    const epochs: number[] = [];
    for (const n of names) {
      const m = /^epoch-(\d+)$/.exec(n);
      if (m && (await exists(join(this.paths.checkpoints, n, CHECKPOINT_JSON)))) epochs.push(Number(m[1]));
    }
    return epochs.sort((a, b) => a - b);
  }

  async lastCheckpoint(): Promise<number | null> {
    return (await this.listCheckpoints()).at(-1) ?? null;
  }

  /** CheckpointSink: best/ first (when best), then checkpoints/epoch-NNN/, each atomically. */
  async saveCheckpoint(data: CheckpointData, mark: BestMark): Promise<void> {
    const info: CheckpointInfo = { format: 'medtrain-checkpoint/1', epoch: data.epoch, logs: data.logs, best: mark, state: data.state };
    const { manifest, data: bin } = encodeSnapshot(data.optimizer);
    const fill = (target: string) => async (dir: string) => {
      // saveModel fills its own temporary folder and renames it onto `dir` (empty here).
      await saveModel(data.model, dir, { metadata: this.modelMetadata });
      faultPoint(`checkpoint-model:${basename(target)}`);
      await fsp.writeFile(join(dir, OPTIMIZER_BIN), bin);
      await fsp.writeFile(join(dir, OPTIMIZER_JSON), JSON.stringify(manifest));
      // Written last: a folder with checkpoint.json is complete even where renames are not atomic.
      await fsp.writeFile(join(dir, CHECKPOINT_JSON), `${JSON.stringify(info, null, 1)}\n`);
    };
    // If a kill falls between the two, the epoch is redone on resume and writes best/ again alike.
    if (mark.best) await writeDirAtomic(this.paths.best, fill(this.paths.best));
    await writeDirAtomic(this.checkpointDir(data.epoch), fill(this.checkpointDir(data.epoch)));
    await this.pruneCheckpoints();
  }

  /** Remove epoch checkpoints beyond keepCheckpoints (each renamed aside first, so none is ever left half-removed). */
  private async pruneCheckpoints(): Promise<void> {
    if (this.keepCheckpoints === null) return;
    const epochs = await this.listCheckpoints();
    const best = (await this.readCheckpointInfo('best').catch(() => null))?.info.epoch;
    for (const e of epochs.slice(0, Math.max(0, epochs.length - this.keepCheckpoints))) {
      if (e === best) continue;
      const dir = this.checkpointDir(e);
      const aside = join(this.paths.checkpoints, `.${basename(dir)}.tmp-${process.pid}-${e.toString(16)}`);
      await fsp.rename(dir, aside);
      await fsp.rm(aside, { recursive: true, force: true });
    }
  }

  /** Read a checkpoint ('last' = the latest complete epoch; null when there is none) and, given a model, load its weights. */
  async loadCheckpoint(which: number | 'best' | 'last', model?: tf.LayersModel): Promise<LoadedCheckpoint | null> {
    const found = await this.readCheckpointInfo(which);
    if (!found) return null;
    const { info, dir } = found;
    const manifest = await this.readJson<OptimizerManifest>(join(dir, OPTIMIZER_JSON));
    const optimizer = decodeSnapshot(manifest, new Uint8Array(await fsp.readFile(join(dir, OPTIMIZER_BIN))), join(dir, OPTIMIZER_JSON));
    if (model) await loadWeightsInto(model, dir);
    return { ...info, dir, optimizer };
  }

  /**
   * A checkpoint's checkpoint.json alone (epoch, logs, trainer state), without its optimizer state or
   * weights; null for 'last' when there is none. A missing checkpoint is an error naming the saved ones.
   */
  async readCheckpointInfo(which: number | 'best' | 'last'): Promise<{ info: CheckpointInfo; dir: string } | null> {
    const epoch = which === 'last' ? await this.lastCheckpoint() : which;
    if (epoch === null) return null;
    const dir = this.checkpointDir(epoch);
    if (!(await exists(join(dir, CHECKPOINT_JSON)))) {
      const have = await this.listCheckpoints();
      throw new MedtrainError(`no complete checkpoint for ${epoch === 'best' ? 'the best epoch' : `epoch ${epoch}`}`, {
        code: 'no-checkpoint',
        file: dir,
        hint: have.length ? `saved epochs: ${have.join(', ')}` : 'this run has no checkpoint yet',
      });
    }
    const info = await this.readJson<CheckpointInfo>(join(dir, CHECKPOINT_JSON));
    if (info.format !== 'medtrain-checkpoint/1') throw new MedtrainError('not a medtrain checkpoint', { code: 'bad-checkpoint', file: join(dir, CHECKPOINT_JSON) });
    return { info, dir };
  }

  /** CheckpointSource: the weights of a saved epoch (1-based) or of best/, into the model. */
  async loadModelWeights(epoch: number | 'best', model: tf.LayersModel): Promise<void> {
    const dir = this.checkpointDir(epoch);
    if (!(await exists(join(dir, CHECKPOINT_JSON)))) throw new MedtrainError(`no complete checkpoint for ${epoch === 'best' ? 'the best epoch' : `epoch ${epoch}`}`, { code: 'no-checkpoint', file: dir });
    await loadWeightsInto(model, dir);
  }

  /**
   * Resume: load the last complete checkpoint into the trainer's model and the trainer (optimizer
   * state, epoch, step, learning rate, RNG, callbacks). Returns the epoch resumed from, or null
   * when the run has no checkpoint (it then starts from the beginning).
   */
  async resume(trainer: Trainer): Promise<number | null> {
    const cp = await this.loadCheckpoint('last', trainer.model);
    if (!cp) return null;
    await trainer.restore(cp.state, cp.optimizer);
    return cp.epoch;
  }

  async writeSummary(summary: RunSummary): Promise<void> {
    await writeJsonAtomic(this.paths.summary, summary);
  }

  /** A CSV in the run folder (file name relative to it, e.g. RUN_FILES.metricsTest). */
  async writeCsv(file: string, rows: readonly Record<string, unknown>[], columns?: readonly string[]): Promise<void> {
    await writeFileAtomic(join(this.dir, file), toCsv(rows, columns));
  }

  /** Send the library's log lines (info and up) to run.log too; returns the detach function. */
  attachLog(): () => void {
    const detach = addLogSink(fileLogSink(this.paths.log));
    return () => void detach();
  }
}
