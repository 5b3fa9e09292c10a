/**
 * Where a run's data comes from when none is named:
 *
 *   1. `$MEDTRAIN_DATA`, when set (it must hold a dataset: an error otherwise);
 *   2. `./data`, when it holds a dataset of the benchmark's kind (a CheXpert folder: train.csv,
 *      valid.csv and CheXpert-v1.0-small/, as the CheXpert-v1.0-small archive unpacks; ChestX-ray14:
 *      Data_Entry_2017.csv with its official lists);
 *   3. otherwise, for a CheXpert benchmark, the phantom set (src/data/phantom/), made once and
 *      cached in `$MEDTRAIN_CACHE_DIR/phantom-p<patients>-s<size>-seed<seed>` (default cache folder
 *      `$XDG_CACHE_HOME/medtrain` or `~/.cache/medtrain`), then reused: makePhantom keeps a complete
 *      set made with the same parameters and version.
 *
 * The phantom set's images are `dim` pixels wide (the benchmark's image side, at least 64), so no
 * image is ever scaled up for training.
 */
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { makePhantom, type PhantomSummary } from '../../data/phantom/write.js';
import { DATASET_FOLDER, dataPathIsFile, detectDataset } from '../../data/tables/detect.js';
import { MedtrainError } from '../../util/errors.js';
import { createLogger } from '../../util/logger.js';
import type { DatasetName } from '../../data/tables/detect.js';

const log = createLogger('train');

/** The default folder searched for a dataset, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';

/** The phantom set a run makes when it finds no data. */
export const PHANTOM_RUN_DEFAULTS = { patients: 2500, minSize: 64, seed: 1 } as const;

export interface PhantomParams {
  patients: number;
  size: number;
  seed: number;
}

export interface DataLocation {
  /** The dataset folder. */
  dir: string;
  /** How it was found. */
  source: 'flag' | 'env' | 'default-dir' | 'phantom';
  /** The phantom set's parameters when the run uses one it made. */
  phantom: PhantomParams | null;
}

/** medtrain's cache folder: `$MEDTRAIN_CACHE_DIR`, else `$XDG_CACHE_HOME/medtrain`, else `~/.cache/medtrain`. */
export function cacheDir(): string {
  if (process.env.MEDTRAIN_CACHE_DIR) return resolve(process.env.MEDTRAIN_CACHE_DIR);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'medtrain');
}

/** The phantom parameters for a benchmark's image side. */
export function phantomParamsFor(dim: number, patients: number = PHANTOM_RUN_DEFAULTS.patients): PhantomParams {
  return { patients, size: Math.max(PHANTOM_RUN_DEFAULTS.minSize, dim), seed: PHANTOM_RUN_DEFAULTS.seed };
}

export function phantomCacheDir(p: PhantomParams): string {
  return join(cacheDir(), `phantom-p${p.patients}-s${p.size}-seed${p.seed}`);
}

function holds(dir: string, dataset: DatasetName): boolean {
  try {
    const kind = detectDataset(dir).kind;
    return kind === dataset;
  } catch {
    return false;
  }
}

/**
 * Decide where the data is, without reading or making anything: `--data`, `$MEDTRAIN_DATA`,
 * `./data`, or the phantom set (CheXpert benchmarks only).
 */
export function locateData(dataset: DatasetName, dim: number, o: { data?: string | null; phantomPatients?: number } = {}): DataLocation {
  if (o.data) {
    const dir = resolve(o.data);
    if (!existsSync(dir)) throw new MedtrainError('data folder not found', { code: 'missing-data', file: dir, hint: `point --data at a dataset folder (${DATASET_FOLDER}), or leave --data out to train on the phantom set` });
    if (!statSync(dir).isDirectory()) throw dataPathIsFile(dir);
    return { dir, source: 'flag', phantom: null };
  }
  const env = process.env.MEDTRAIN_DATA;
  if (env) {
    const dir = resolve(env);
    if (!existsSync(dir)) throw new MedtrainError('the data folder in MEDTRAIN_DATA is not there', { code: 'missing-data', file: dir, hint: 'fix or unset MEDTRAIN_DATA' });
    if (!statSync(dir).isDirectory()) throw dataPathIsFile(dir, 'MEDTRAIN_DATA');
    return { dir, source: 'env', phantom: null };
  }
  const local = resolve(DEFAULT_DATA_DIR);
  if (holds(local, dataset)) return { dir: local, source: 'default-dir', phantom: null };
  if (dataset !== 'chexpert') {
    throw new MedtrainError(`no ${dataset} dataset given or found`, {
      code: 'missing-data',
      file: local,
      hint: `pass --data DIR (a folder with Data_Entry_2017.csv, train_val_list.txt, test_list.txt and the images), set MEDTRAIN_DATA, or put it in ./${DEFAULT_DATA_DIR}; the phantom set exists in CheXpert format only`,
    });
  }
  const phantom = phantomParamsFor(dim, o.phantomPatients);
  return { dir: phantomCacheDir(phantom), source: 'phantom', phantom };
}

/** Make (or reuse) the phantom set of a location that names one. */
export async function ensurePhantom(loc: DataLocation): Promise<PhantomSummary | null> {
  if (!loc.phantom) return null;
  const p = loc.phantom;
  const summary = await makePhantom({ out: loc.dir, patients: p.patients, size: p.size, seed: p.seed, reuse: true });
  log.info(
    summary.reused
      ? `no dataset given or found in ./${DEFAULT_DATA_DIR}: training on the phantom set in ${loc.dir} (${summary.images} images, made earlier)`
      : `no dataset given or found in ./${DEFAULT_DATA_DIR}: made the phantom set in ${loc.dir} (${summary.images} images, ${p.size} px wide, ${summary.seconds.toFixed(1)} s) and training on it`,
  );
  return summary;
}
