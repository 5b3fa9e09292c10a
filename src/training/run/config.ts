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
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classSetNames } from '../../data/labels/classes.js';
import type { EngineInfo, EngineName, EngineRequest } from '../../backend/engines.js';
import type { Pooling } from '../../models/backbone.js';
import { MedtrainError } from '../../util/errors.js';
import { Benchmark, type BenchmarkJSON } from '../benchmark/benchmark.js';
import type { DataLocation } from './default-data.js';
import type { TableSpec } from '../../data/dataset.js';

export const RUN_FORMAT = 'medtrain-run/1';

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
  /** What best/, early stopping and ReduceLROnPlateau watch. */
  monitor: string;
  /** Early stopping with the best weights restored; null for none. */
  earlyStopping: { patience: number } | null;
  /** ReduceLROnPlateau; null for none. */
  plateau: { factor: number; patience: number } | null;
  /** How the operating thresholds predict uses are chosen on the validation split. */
  thresholds: 'youden' | 'f1' | 'balanced' | number;
}

export const DEFAULT_TRAINING: Readonly<TrainingSettings> = Object.freeze({
  monitor: 'val_loss',
  earlyStopping: { patience: 5 },
  plateau: { factor: 0.5, patience: 2 },
  thresholds: 'youden',
});

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
  data: { dir: string; source: DataLocation['source']; phantom: DataLocation['phantom']; table: TableSpec | null };
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
    data: { dir: o.data.dir, source: o.data.source, phantom: o.data.phantom, table: o.table },
    versions: versions(o.engine),
    created: new Date().toISOString(),
  };
}

/** The benchmark of a run's config (its requested engine, so the name is the run's name). */
export function benchmarkOf(config: RunConfig, file?: string): Benchmark {
  if (config?.format !== RUN_FORMAT) throw new MedtrainError('not a medtrain run config', { code: 'bad-config', file, hint: 'give a run folder a training run wrote' });
  return Benchmark.fromJSON({ ...config, engine: config.engineRequest }, file);
}
