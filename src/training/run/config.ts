/**
 * config.json: the full resolved configuration of a run, written before anything else and read back
 * by resume, evaluate, predict and reevaluate. `train --dry-run --json` prints the same object.
 *
 * The benchmark's fields come first, under the names and in the order of BenchmarkJSON (`classes` is
 * the list of class names; `engine` the engine that runs, `engineRequest` what was asked for); then
 * what a benchmark name does not say: the head, the initial weights, the training callbacks'
 * settings, where the data is, the versions and the device.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classSetNames } from '../../data/labels/classes.js';
import type { EngineInfo, EngineName, EngineRequest } from '../../backend/engines.js';
import type { Pooling } from '../../models/backbone.js';
import type { BadInputPolicy } from '../../core/types.js';
import { epochMetricNames } from '../../metrics/epoch.js';
import { getModelSpec } from '../../models/registry.js';
import { findImagenetWeights } from '../../models/weights/imagenet.js';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { createLogger } from '../../util/logger.js';
import { Benchmark, type BenchmarkJSON } from '../benchmark/benchmark.js';
import type { DataLocation } from './default-data.js';
import type { TableSpec } from '../../data/dataset.js';

const log = createLogger('train');

export const RUN_FORMAT = 'medtrain-run/1';
/** config.json of an ensemble folder (src/ensembles/): a run folder's files without a model of its own. */
export const ENSEMBLE_FORMAT = 'medtrain-ensemble/1';

/** The classification head on the backbone (src/models/classifier.ts). */
export interface HeadSettings {
  /** Units of the hidden Dense(relu) layer; 0 for none (CheXNet's linear head). */
  units: number;
  /** Dropout before the output layer (SeededDropout: masks seeded per step). */
  dropout: number;
  pooling: Pooling;
  /** Epochs with the backbone frozen (only the head trains). */
  warmupEpochs: number;
}

/**
 * The head a run uses unless told otherwise: the reference Keras codebase's (global average pooling,
 * Dense(1024, relu), Dense(classes, sigmoid)); no dropout, no warm-up (random initial weights have
 * nothing to warm up for).
 */
export const DEFAULT_HEAD: Readonly<HeadSettings> = Object.freeze({ units: 1024, dropout: 0, pooling: 'avg', warmupEpochs: 0 });

/** The callbacks' settings (the reference defaults). */
export interface TrainingSettings {
  /**
   * The one meaning of "best": what best/, summary.json's best epoch, evaluate, predict, reevaluate,
   * early stopping and ReduceLROnPlateau go by (lowest for a loss, highest otherwise).
   */
  monitor: string;
  /** Early stopping with the best weights restored; null for none. */
  earlyStopping: { patience: number } | null;
  /** ReduceLROnPlateau; null for none. */
  plateau: { factor: number; patience: number } | null;
  /** How the operating thresholds predict uses are chosen on the validation split. */
  thresholds: 'youden' | 'f1' | 'balanced' | number;
  /** Epoch checkpoints kept: the last N (the best epoch's is always kept, as is best/); null keeps all. */
  keepCheckpoints: number | null;
  /** TensorBoard event files in the run folder. */
  tensorboard: boolean;
}

export const DEFAULT_TRAINING: Readonly<TrainingSettings> = Object.freeze({
  monitor: 'val_loss',
  earlyStopping: { patience: 5 },
  plateau: { factor: 0.5, patience: 2 },
  thresholds: 'youden',
  keepCheckpoints: null,
  tensorboard: true,
});

/** What a run does with bad input: a bad label-table row fails the run by default; a bad image is skipped (named and counted) by default. */
export interface InputPolicies {
  onBadRow: BadInputPolicy;
  onBadImage: BadInputPolicy;
}

export const DEFAULT_POLICIES: Readonly<InputPolicies> = Object.freeze({ onBadRow: 'fail', onBadImage: 'skip' });

/**
 * The names a run's monitor may take: loss, lr, val_loss and every validation metric the epoch
 * evaluator logs for these classes (val_macro_auroc, val_auroc/<class>, …). Anything else is an
 * error before the run starts, naming the monitor and the choices.
 */
export function checkMonitor(monitor: string, classNames: readonly string[]): void {
  const known = ['loss', 'val_loss', ...epochMetricNames(classNames).map((k) => `val_${k}`)];
  if (known.includes(monitor)) return;
  const close = known.filter((k) => k.toLowerCase().includes(monitor.toLowerCase().replace(/^val_/, '').slice(0, 5)));
  throw new MedtrainError(`unknown monitor '${monitor}'`, {
    code: 'bad-flag',
    column: '--monitor',
    value: monitor,
    hint: `use one of loss, val_loss, val_macro_auroc, val_macro_ap, val_macro_f1, val_auroc/<class> …${close.length ? ` (close: ${listForMessage(close, 5)})` : ''}`,
  });
}

export interface RunConfig extends Omit<BenchmarkJSON, 'engine' | 'classes'> {
  classes: string[];
  /** The engine the run trains on. */
  engine: EngineName;
  /** What the benchmark asked for ('auto' or an engine). */
  engineRequest: EngineRequest;
  device: string;
  format: typeof RUN_FORMAT;
  /** The backbone's input preprocessing (from the model registry). */
  preprocessing: string;
  head: HeadSettings;
  /** Initial weights: 'random', 'imagenet' or a Keras weight file. */
  weights: string;
  training: TrainingSettings;
  data: { dir: string; source: DataLocation['source']; phantom: DataLocation['phantom']; table: TableSpec | null } & InputPolicies;
  versions: Record<string, string>;
  created: string;
}

let packageVersion: string | null = null;

/** medtrain's version, from the nearest package.json named medtrain above this module (src/ or dist/). */
export function medtrainVersion(): string {
  if (packageVersion === null) {
    packageVersion = 'unknown';
    for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'medtrain') {
          packageVersion = pkg.version ?? 'unknown';
          break;
        }
      } catch {
        // no package.json here: look further up
      }
    }
  }
  return packageVersion;
}

export function versions(engine: EngineInfo): Record<string, string> {
  const v: Record<string, string> = { medtrain: medtrainVersion(), tfjs: tf.version.tfjs, node: process.version, platform: `${process.platform}-${process.arch}` };
  if (engine.package) v[engine.package] = tf.version.tfjs;
  return v;
}

export function buildRunConfig(o: {
  benchmark: Benchmark;
  engine: EngineInfo;
  preprocessing: string;
  head: HeadSettings;
  weights: string;
  training: TrainingSettings;
  data: DataLocation;
  table: TableSpec | null;
  policies: InputPolicies;
}): RunConfig {
  const j = o.benchmark.toJSON(classSetNames);
  return {
    ...j,
    classes: j.classes as string[],
    engine: o.engine.engine,
    engineRequest: o.benchmark.engine,
    device: o.engine.device,
    format: RUN_FORMAT,
    preprocessing: o.preprocessing,
    head: { ...o.head },
    weights: o.weights,
    training: { ...o.training },
    data: { dir: o.data.dir, source: o.data.source, phantom: o.data.phantom, table: o.table, ...o.policies },
    versions: versions(o.engine),
    created: new Date().toISOString(),
  };
}

/** The benchmark of a run's config (its requested engine, so the name is the run's name). */
export function benchmarkOf(config: RunConfig, file?: string): Benchmark {
  if (config?.format !== RUN_FORMAT) throw new MedtrainError('not a medtrain run config', { code: 'bad-config', file, hint: 'give a run folder a training run wrote' });
  return Benchmark.fromJSON({ ...config, engine: config.engineRequest }, file);
}

/** A run config with the settings an older run folder lacks filled with their defaults. */
export function withDefaults(config: RunConfig): RunConfig {
  return { ...config, training: { ...DEFAULT_TRAINING, ...config.training }, data: { ...DEFAULT_POLICIES, ...config.data } };
}

/**
 * The initial weights a run starts from, decided before anything is written: 'random'; 'imagenet'
 * (its Keras file must be on this machine, else an error says where to put it); a Keras .h5 file
 * (it must exist); or 'auto' (ImageNet when its file is here, else random; the log says which).
 */
export async function resolveWeights(model: string, weights: string | undefined, inputSize: number): Promise<string> {
  const w = weights ?? 'auto';
  if (w === 'random' || w === 'none') return 'random';
  const spec = getModelSpec(model);
  if (w === 'imagenet') {
    await findImagenetWeights(spec, { inputSize });
    return 'imagenet';
  }
  if (w !== 'auto') {
    const file = resolve(w);
    if (!existsSync(file)) throw new MedtrainError('the weight file is not there', { code: 'missing-file', file, column: '--weights', hint: 'give a Keras .h5 weights file, imagenet, random or auto' });
    return file;
  }
  try {
    await findImagenetWeights(spec, { inputSize });
    log.info(`weights auto: ImageNet weights for ${model} found on this machine; the backbone starts from them`);
    return 'imagenet';
  } catch (e) {
    log.info(`weights auto: no ImageNet weights file for ${model} on this machine (${e instanceof MedtrainError ? e.problem : String(e)}); starting from random weights`);
    return 'random';
  }
}
