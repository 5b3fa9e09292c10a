/**
 * openDataset(): a dataset folder as a training run sees it and as inspect-data shows it. One path
 * for both: the folder's label tables, the selected classes, the labels encoded under the
 * uncertainty encoding and blank policy, and the patient-grouped train/val split of the training
 * table (the test table, where the dataset has one, is the test split).
 *
 * One set of defaults (DATA_DEFAULTS, which the Benchmark's defaults take too), and the split depends
 * only on the table rows, the val fraction and the seed: a missing or unreadable image is named by
 * the image check or the generator, never dropped before the split, so inspect-data and a run report
 * the same split for the same benchmark.
 */
import { resolve } from 'node:path';
import type { BadInputPolicy, CaseRecord, LabelTable, SkippedItem } from '../core/types.js';
import { formatSkipped } from './skipped.js';
import { MedtrainError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { resolveClasses, type ClassSetSpec, type ResolvedClasses } from './labels/classes.js';
import { encodeLabels, selectRows, type BlankPolicy } from './labels/encode.js';
import { resolveUncertainty, type Uncertainty, type UncertaintyLists, type UncertaintyMode } from './labels/uncertainty.js';
import { groupedKFold, splitByPatient } from './split.js';
import { readChestXray14 } from './tables/chestxray14.js';
import { readChexpert } from './tables/chexpert.js';
import { DATASET_FOLDER, detectDataset, type DatasetName } from './tables/detect.js';
import { readGenericCsv, type GenericCsvOptions } from './tables/generic.js';

/** The reference split (val 0.2, seed 6122156; DS9505 makes val 0.05), blanks to 0, uncertain masked. */
export const DATA_DEFAULTS = Object.freeze({ val: 0.2, seed: 6122156, blank: 'zero' as BlankPolicy, uncertainty: Object.freeze({ kind: 'ignore' }) as Uncertainty });

/** A generic label table (a folder that is neither CheXpert nor ChestX-ray14). */
export interface TableSpec extends Omit<GenericCsvOptions, 'policy' | 'root'> {
  /** The CSV, relative to the data folder. */
  file: string;
}

/** Indices of a split into the training table (train, val) and the test table (test). */
export interface SplitIndices {
  train: number[];
  val: number[];
  test?: number[];
}

export interface DatasetOptions {
  /** The dataset kind the caller expects (a benchmark's): a folder of another kind is an error. */
  expect?: DatasetName;
  /** Default 'all' (every class of the table). */
  classes?: ClassSetSpec;
  /** Default ignore (uncertain cells masked). */
  uncertainty?: string | Uncertainty | UncertaintyLists;
  /** Default 'zero'. */
  blank?: BlankPolicy;
  noFindingImpliesNegative?: boolean;
  /** Validation fraction of the training table, grouped by patient. */
  val?: number;
  /** Fold `index` (1-based) of a K-fold split (grouped by patient, stratified over the classes) as the val split, in place of `val`. */
  fold?: { index: number; of: number } | null;
  seed?: string | number;
  /** View filter, e.g. 'frontal' or 'ap,pa'. */
  views?: string;
  /** A generic CSV table (for folders that are neither CheXpert nor ChestX-ray14). */
  table?: TableSpec | null;
  /** Bad label rows: 'fail' (default: an error naming file, line, column and value) or 'skip' (left out, each named). */
  onBadRow?: BadInputPolicy;
  /**
   * The split that is used, given the one drawn here and the two tables' records (a run checks the
   * draw against its split files, writes the missing ones and keeps what it trained on).
   */
  split?: (drawn: Required<SplitIndices>, train: readonly CaseRecord[], test: readonly CaseRecord[]) => Promise<SplitIndices>;
}

export interface SplitPart {
  records: CaseRecord[];
  /** Encoded labels [records × classes], MASKED where not labelled. */
  labels: Float32Array;
}

export interface Dataset {
  kind: DatasetName | 'generic';
  root: string;
  /** The table files read. */
  tables: string[];
  classes: ResolvedClasses;
  /** The uncertainty mode of each selected class. */
  modes: UncertaintyMode[];
  train: SplitPart;
  val: SplitPart;
  /** The dataset's test table (CheXpert valid.csv, ChestX-ray14 test_list.txt), or null when it has none. */
  test: SplitPart | null;
  /** Rows the tables left out under the skip policy, each with why. */
  skipped: SkippedItem[];
  /** Rows left out on purpose by the view filter or the official split lists (not errors). */
  filtered: number;
  settings: { val: number; fold: { index: number; of: number } | null; seed: string; blank: BlankPolicy; noFindingImpliesNegative: boolean; views: string | null; onBadRow: BadInputPolicy };
}

/** A dataset folder's label tables: the training table and, when the dataset has one, the test table. */
export interface Tables {
  kind: Dataset['kind'];
  root: string;
  train: LabelTable;
  test: LabelTable | null;
}

/**
 * Read a dataset folder's tables: CheXpert's train.csv and valid.csv (the test table), ChestX-ray14's
 * official train_val and test lists, or a generic CSV given as `table`.
 */
export async function readTables(dir: string, opts: Pick<DatasetOptions, 'table' | 'views' | 'onBadRow'> = {}): Promise<Tables> {
  const policy = opts.onBadRow ?? 'fail';
  if (opts.table) {
    const { file, ...generic } = opts.table;
    const t = await readGenericCsv(resolve(dir, file), { ...generic, root: dir, policy });
    return { kind: 'generic', root: resolve(dir), train: t, test: null };
  }
  const d = detectDataset(dir);
  if (d.kind === 'chexpert') {
    const views = opts.views;
    const train = await readChexpert(d.root, { file: d.train, views, policy });
    const test = d.valid ? await readChexpert(d.root, { file: d.valid, views, policy }) : null;
    return { kind: 'chexpert', root: d.root, train, test };
  }
  if (d.kind === 'chestxray14') {
    const lists = Boolean(d.trainValList && d.testList);
    const train = await readChestXray14(d.root, { file: d.table, policy, ...(lists && { split: 'train_val' as const }) });
    const test = lists ? await readChestXray14(d.root, { file: d.table, policy, split: 'test' }) : null;
    return { kind: 'chestxray14', root: d.root, train, test };
  }
  throw new MedtrainError('not a dataset folder medtrain recognises', {
    code: 'unknown-dataset',
    file: d.root,
    hint: `${DATASET_FOLDER}${d.csvFiles.length ? ` (CSV files here: ${d.csvFiles.join(', ')})` : ''}`,
  });
}

/** The error for a training table without a row to train on: no rows at all, every row left out as bad, or every row filtered out. */
function emptyTrainingTable(t: LabelTable, views: string | undefined): MedtrainError {
  const file = t.files[0];
  if (t.skipped.length) {
    return new MedtrainError(`the training table has no usable rows: all ${t.skipped.length} were left out as bad`, {
      code: 'no-data',
      file,
      hint: `fix them: ${formatSkipped(t.skipped, 3).join('; ')}`,
    });
  }
  if (t.filtered) {
    return new MedtrainError(`the training table has no rows left: the ${views ? `view filter (${views})` : 'official split list'} leaves out all ${t.filtered}`, { code: 'no-data', file, hint: views ? 'choose views the table has (frontal, lateral, ap, pa)' : 'check train_val_list.txt against the table' });
  }
  return new MedtrainError('the training table has no rows', { code: 'no-data', file, hint: 'it holds a header only: a training table needs one row per image under the header' });
}

function part(records: readonly CaseRecord[], labels: Float32Array, C: number, idx: readonly number[]): SplitPart {
  return { records: idx.map((i) => records[i]!), labels: selectRows(labels, C, idx) };
}

/** The train/val split of the training table: by the val fraction, or one fold of K (stratified over the encoded labels). */
function drawSplit(table: LabelTable, labels: Float32Array, numClasses: number, o: { val: number; seed: string; fold: { index: number; of: number } | null }): { train: number[]; val: number[] } {
  if (!o.fold) return splitByPatient(table.records, { val: o.val, seed: o.seed });
  try {
    return groupedKFold(table.records, { k: o.fold.of, seed: o.seed, stratify: { labels, numClasses } })[o.fold.index - 1]!;
  } catch (e) {
    if (e instanceof MedtrainError) throw new MedtrainError(e.problem, { code: e.code, file: table.files[0], value: e.value, hint: 'use fewer folds than the table has patients' });
    throw e;
  }
}

/** Open a dataset folder: tables, classes, encoded labels and the split (see the top of this file). */
export async function openDataset(dir: string, opts: DatasetOptions = {}): Promise<Dataset> {
  const tables = await readTables(dir, opts);
  if (opts.expect && tables.kind !== 'generic' && tables.kind !== opts.expect) {
    throw new MedtrainError(`the benchmark is for ${opts.expect} but ${tables.root} holds ${tables.kind}`, {
      code: 'dataset-mismatch',
      file: tables.root,
      hint: `use a ${tables.kind} benchmark name (or --dataset ${tables.kind}), or point --data at a ${opts.expect} folder`,
    });
  }
  const trainRecords = tables.train.records;
  if (trainRecords.length === 0) throw emptyTrainingTable(tables.train, opts.views);
  const testRecords = tables.test?.records ?? [];
  const classes = resolveClasses(opts.classes ?? 'all', tables.train.classes);
  const C = classes.names.length;
  const modes = resolveUncertainty(opts.uncertainty, classes.names);
  const seed = String(opts.seed ?? DATA_DEFAULTS.seed);
  const val = opts.val ?? DATA_DEFAULTS.val;
  const blank = opts.blank ?? DATA_DEFAULTS.blank;
  const noFindingImpliesNegative = !!opts.noFindingImpliesNegative;
  const encode = (records: readonly CaseRecord[], stream: string) => encodeLabels(records, classes, { uncertainty: opts.uncertainty, blank, noFindingImpliesNegative, rng: new Rng(seed).fork(stream) });
  const trainLabels = encode(trainRecords, 'labels');
  const testLabels = encode(testRecords, 'labels-test');
  const fold = opts.fold ?? null;
  const drawn = { ...drawSplit(tables.train, trainLabels, C, { val, seed, fold }), test: testRecords.map((_, i) => i) };
  const split: SplitIndices = opts.split ? await opts.split(drawn, trainRecords, testRecords) : drawn;
  return {
    kind: tables.kind,
    root: tables.root,
    tables: [...tables.train.files, ...(tables.test?.files ?? [])],
    classes,
    modes,
    train: part(trainRecords, trainLabels, C, split.train),
    val: part(trainRecords, trainLabels, C, split.val),
    test: tables.test ? part(testRecords, testLabels, C, split.test ?? testRecords.map((_, i) => i)) : null,
    skipped: [...tables.train.skipped, ...(tables.test?.skipped ?? [])],
    filtered: (tables.train.filtered ?? 0) + (tables.test?.filtered ?? 0),
    settings: { val, fold, seed, blank, noFindingImpliesNegative, views: opts.views ?? null, onBadRow: opts.onBadRow ?? 'fail' },
  };
}
