/**
 * A run's data: the dataset folder's tables (src/data), the benchmark's classes, uncertainty encoding
 * and blank policy, the patient-grouped train/val split and the test table, and the generators over
 * them. A new run draws its split from the benchmark's split and seed and writes it as
 * split-train.csv, split-val.csv and split-test.csv in the run folder; a resumed or re-evaluated run
 * reads those files back, so it sees exactly the same cases.
 */
import { join } from 'node:path';
import { ImageDataGenerator, type GeneratorOptions } from '../../data/generator.js';
import { readTables, type Tables } from '../../data/inspect.js';
import { classSetNames, classStats, encodeLabels, resolveClasses, selectRows, upsamplingFactors, type ResolvedClasses } from '../../data/labels.js';
import { readSplitCsv, splitByPatient, writeSplitCsv } from '../../data/split.js';
import type { GenericCsvOptions } from '../../data/tables/generic.js';
import type { CaseRecord, ClassStats, SkippedItem } from '../../core/types.js';
import type { PreprocessingMode } from '../../core/preprocessing.js';
import { MedtrainError } from '../../util/errors.js';
import { exists } from '../../util/fs.js';
import { Rng } from '../../util/rng.js';
import type { Benchmark } from '../benchmark.js';
import { RUN_FILES } from './store.js';

/** A generic label table (a folder that is neither CheXpert nor ChestX-ray14). */
export interface TableSpec extends Omit<GenericCsvOptions, 'policy' | 'root'> {
  /** The CSV, relative to the data folder. */
  file: string;
}

export interface SplitPart {
  records: CaseRecord[];
  /** Encoded labels [records × classes], MASKED where not labelled. */
  labels: Float32Array;
}

export interface RunData {
  kind: Tables['dataset'];
  root: string;
  tables: string[];
  classes: ResolvedClasses;
  train: SplitPart;
  val: SplitPart;
  /** The dataset's test table (CheXpert valid.csv, ChestX-ray14 test_list.txt), or null when it has none. */
  test: SplitPart | null;
  /** Rows the tables left out, with why. */
  skipped: SkippedItem[];
}

function part(records: readonly CaseRecord[], labels: Float32Array, C: number, idx: readonly number[]): SplitPart {
  return { records: idx.map((i) => records[i]!), labels: selectRows(labels, C, idx) };
}

/**
 * Read the data for a run. `splits` names the run folder: with `write` the split is drawn and
 * written there; without, it is read from there (a resumed or re-evaluated run).
 */
export async function loadRunData(dataDir: string, b: Benchmark, splits: { dir: string; write: boolean }, o: { table?: TableSpec | null } = {}): Promise<RunData> {
  const tables = await readTables(dataDir, o.table ? { table: o.table.file, generic: o.table } : {});
  if (tables.dataset !== 'generic' && tables.dataset !== b.dataset) {
    throw new MedtrainError(`the benchmark is for ${b.dataset} but ${tables.root} holds ${tables.dataset}`, {
      code: 'dataset-mismatch',
      file: tables.root,
      hint: `use a ${tables.dataset} benchmark name (or --dataset ${tables.dataset}), or point --data at a ${b.dataset} folder`,
    });
  }
  const classes = resolveClasses(b.classNames(classSetNames), tables.train.classes);
  const C = classes.names.length;
  const encode = (records: readonly CaseRecord[], stream: string) =>
    encodeLabels(records, classes, { uncertainty: b.uncertainty, blank: b.blankPolicy, rng: new Rng(b.seed).fork(stream) });
  const trainRecords = tables.train.records;
  if (trainRecords.length === 0) throw new MedtrainError('the training table has no usable rows', { code: 'no-data', file: tables.train.files[0], hint: 'check the table (every skipped row is named in the log)' });
  const trainLabels = encode(trainRecords, 'labels');
  const testRecords = tables.test?.records ?? [];
  const testLabels = encode(testRecords, 'labels-test');

  const paths = { train: join(splits.dir, RUN_FILES.splitTrain), val: join(splits.dir, RUN_FILES.splitVal), test: join(splits.dir, RUN_FILES.splitTest) };
  let trainIdx: number[];
  let valIdx: number[];
  let testIdx: number[] = testRecords.map((_, i) => i);
  if (splits.write) {
    const s = splitByPatient(trainRecords, { val: b.split.val, seed: b.seed });
    trainIdx = s.train;
    valIdx = s.val;
    await writeSplitCsv(paths.train, trainRecords, { train: trainIdx, val: [] });
    await writeSplitCsv(paths.val, trainRecords, { train: [], val: valIdx });
    if (tables.test) await writeSplitCsv(paths.test, testRecords, { train: [], val: [], test: testIdx });
  } else {
    for (const p of [paths.train, paths.val]) {
      if (!(await exists(p))) throw new MedtrainError('the run folder has no split file', { code: 'bad-run', file: p, hint: 'the run was stopped before its data was read: start it again with a new --out' });
    }
    trainIdx = (await readSplitCsv(paths.train, trainRecords)).train;
    valIdx = (await readSplitCsv(paths.val, trainRecords)).val;
    testIdx = tables.test && (await exists(paths.test)) ? ((await readSplitCsv(paths.test, testRecords)).test ?? []) : [];
  }
  return {
    kind: tables.dataset,
    root: tables.root,
    tables: [...tables.train.files, ...(tables.test?.files ?? [])],
    classes,
    train: part(trainRecords, trainLabels, C, trainIdx),
    val: part(trainRecords, trainLabels, C, valIdx),
    test: tables.test ? part(testRecords, testLabels, C, testIdx) : null,
    skipped: [...tables.train.skipped, ...(tables.test?.skipped ?? [])],
  };
}

export interface GeneratorSettings {
  preprocessing: PreprocessingMode;
  workers?: number;
  cache?: string | null;
}

/** The evaluation generator (no augmentation, upsampling or shuffle; every row once, in order). */
export function evalGenerator(p: SplitPart, b: Benchmark, s: GeneratorSettings, batchSize = b.batchSize): Promise<ImageDataGenerator> {
  return ImageDataGenerator.create(p.records, p.labels, { ...common(b, s), batchSize, mode: 'eval' });
}

/** The training generator: shuffled per epoch from the seed, augmented, upsampled when the benchmark says. */
export function trainGenerator(p: SplitPart, b: Benchmark, s: GeneratorSettings, classNames: readonly string[]): Promise<ImageDataGenerator> {
  const C = classNames.length;
  return ImageDataGenerator.create(p.records, p.labels, {
    ...common(b, s),
    batchSize: b.batchSize,
    mode: 'train',
    augment: b.augmentation,
    upsample: b.upsample ? upsamplingFactors(p.labels, C) : null,
    classNames,
    seed: b.seed,
  });
}

function common(b: Benchmark, s: GeneratorSettings): Omit<GeneratorOptions, 'batchSize'> {
  return {
    dim: b.dim,
    preprocessing: s.preprocessing,
    transforms: b.transforms,
    crop: b.crop,
    ...(s.workers !== undefined && { workers: s.workers }),
    ...(s.cache !== undefined && { cache: s.cache }),
  };
}

/**
 * Class statistics of what training sees (after encoding and upsampling): positive, negative and
 * masked from the epoch's labels, uncertain and blank from the raw cells of the training split.
 */
export function trainingStats(p: SplitPart, classes: ResolvedClasses, epochLabels: Float32Array): ClassStats[] {
  const raw = classStats(p.records, p.labels, classes);
  const C = classes.names.length;
  return classes.names.map((name, c) => {
    const s = { ...raw[name]!, positive: 0, negative: 0, masked: 0 };
    for (let i = c; i < epochLabels.length; i += C) {
      const y = epochLabels[i]!;
      if (y < 0) s.masked++;
      else if (y >= 0.5) s.positive++;
      else s.negative++;
    }
    return s;
  });
}
