/**
 * What a dataset holds before anyone trains on it: rows, patients, studies, views, the split sizes,
 * per-class counts after the encoding and blank policy, and every skipped row or file with its reason.
 * The library side of `npm run inspect-data`.
 */
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { MedtrainError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { decodeImage } from './image.js';
import { classStats, encodeLabels, resolveClasses, resolveUncertainty, selectRows, type BlankPolicy, type ClassSetSpec, type UncertaintySpec } from './labels.js';
import { formatSkipped, summarizeSkipped } from './skipped.js';
import { splitByPatient } from './split.js';
import { readChestXray14 } from './tables/chestxray14.js';
import { readChexpert } from './tables/chexpert.js';
import { detectDataset } from './tables/detect.js';
import { readGenericCsv, type GenericCsvOptions } from './tables/generic.js';
import type { CaseRecord, ClassStats, LabelTable, SkippedItem } from '../core/types.js';
import { stripUndefined } from '../util/objects.js';

/** The reference split: val 0.2, seed 6122156 (DS9505 makes val 0.05). */
export const DEFAULT_VAL = 0.2;
export const DEFAULT_SEED = 6122156;

/** The fields of a Benchmark (src/training/benchmark.ts) that decide what a dataset looks like to a run. */
export interface BenchmarkDataFields {
  dataset: 'chexpert' | 'chestxray14';
  classes: ClassSetSpec;
  uncertainty: UncertaintySpec;
  blankPolicy: BlankPolicy;
  split: { val: number };
  seed: number;
}

export interface InspectOptions {
  /** A benchmark's classes, encoding, blank policy and split; the options below override them. */
  benchmark?: BenchmarkDataFields;
  classes?: ClassSetSpec;
  uncertainty?: UncertaintySpec;
  blank?: BlankPolicy;
  noFindingImpliesNegative?: boolean;
  val?: number;
  seed?: string | number;
  /** View filter, e.g. 'frontal' or 'ap,pa'. */
  views?: string;
  /** Image check: 'exists' (default: every file is there and not empty), 'decode' (every image decodes), 'none'. */
  checkImages?: 'none' | 'exists' | 'decode';
  /** A generic CSV table (for folders that are neither CheXpert nor ChestX-ray14). */
  table?: string;
  generic?: Omit<GenericCsvOptions, 'policy' | 'root'>;
}

export interface DataReport {
  dataset: 'chexpert' | 'chestxray14' | 'generic';
  root: string;
  tables: string[];
  rows: number;
  patients: number;
  studies: number;
  views: Record<string, number>;
  split: { train: number; val: number; test: number };
  /** Per class over the training split: uncertain and blank count raw cells; positive, negative and masked count after encoding. */
  classes: Record<string, ClassStats>;
  classesBySplit: { train: Record<string, ClassStats>; val: Record<string, ClassStats>; test: Record<string, ClassStats> };
  settings: { classes: string[]; uncertainty: Record<string, string>; blank: BlankPolicy; noFindingImpliesNegative: boolean; val: number; seed: string; views: string | null; checkImages: string };
  /** Rows left out by the view filter or the official split lists (not errors). */
  filtered: number;
  skipped: SkippedItem[];
}

/** A dataset folder's label tables: the training table and, when the dataset has one, the test table. */
export interface Tables {
  dataset: DataReport['dataset'];
  root: string;
  train: LabelTable;
  test: LabelTable | null;
}

/**
 * Read a dataset folder's tables (bad rows skipped and named): CheXpert's train.csv and valid.csv (the
 * test table), ChestX-ray14's official train_val and test lists, or a generic CSV given as `table`.
 */
export async function readTables(dir: string, opts: Pick<InspectOptions, 'table' | 'generic' | 'views'> = {}): Promise<Tables> {
  if (opts.table) {
    const t = await readGenericCsv(resolve(dir, opts.table), { ...opts.generic, root: dir, policy: 'skip' });
    return { dataset: 'generic', root: resolve(dir), train: t, test: null };
  }
  const d = detectDataset(dir);
  if (d.kind === 'chexpert') {
    const views = opts.views;
    const train = await readChexpert(d.root, { file: d.train, views, policy: 'skip' });
    const test = d.valid ? await readChexpert(d.root, { file: d.valid, views, policy: 'skip' }) : null;
    return { dataset: 'chexpert', root: d.root, train, test };
  }
  if (d.kind === 'chestxray14') {
    const train = await readChestXray14(d.root, { file: d.table, policy: 'skip', ...(d.trainValList && d.testList && { split: 'train_val' as const }) });
    const test = d.trainValList && d.testList ? await readChestXray14(d.root, { file: d.table, policy: 'skip', split: 'test' }) : null;
    return { dataset: 'chestxray14', root: d.root, train, test };
  }
  throw new MedtrainError('not a dataset folder medtrain recognises', {
    code: 'unknown-dataset',
    file: d.root,
    hint: `a CheXpert folder has train.csv, valid.csv and CheXpert-v1.0-small/; ChestX-ray14 has Data_Entry_2017.csv; for another table pass --table FILE --path-column COL${d.csvFiles.length ? ` (CSV files here: ${d.csvFiles.join(', ')})` : ''}`,
  });
}

async function checkImageFiles(records: readonly CaseRecord[], mode: 'exists' | 'decode'): Promise<SkippedItem[]> {
  const out: SkippedItem[] = [];
  let next = 0;
  const work = async () => {
    while (next < records.length) {
      const r = records[next++]!;
      let reason: string | null = null;
      try {
        const st = await fsp.stat(r.path);
        if (!st.isFile()) reason = 'not a file';
        else if (st.size === 0) reason = 'empty file';
        else if (mode === 'decode') await decodeImage(await fsp.readFile(r.path));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        reason = code === 'ENOENT' ? 'missing file' : code ? `unreadable file (${code})` : (e as Error).message;
      }
      if (reason) out.push({ file: r.path, value: r.id, reason, source: r.source });
    }
  };
  await Promise.all(Array.from({ length: mode === 'decode' ? 4 : 32 }, work));
  return out.sort((a, b) => a.source!.file.localeCompare(b.source!.file) || a.source!.line - b.source!.line);
}

export async function inspectData(dir: string, options: InspectOptions = {}): Promise<DataReport> {
  const b = options.benchmark;
  const opts: InspectOptions = b
    ? { classes: b.classes, uncertainty: b.uncertainty, blank: b.blankPolicy, val: b.split.val, seed: b.seed, ...stripUndefined(options) }
    : options;
  const tables = await readTables(dir, opts);
  if (b && tables.dataset !== 'generic' && tables.dataset !== b.dataset) {
    throw new MedtrainError(`the benchmark is for ${b.dataset} but the folder holds ${tables.dataset}`, { code: 'dataset-mismatch', file: tables.root, hint: `use a ${tables.dataset} benchmark name, or point --data at a ${b.dataset} folder` });
  }
  const check = opts.checkImages ?? 'exists';
  const all = [...tables.train.records, ...(tables.test?.records ?? [])];
  const imageProblems = check === 'none' ? [] : await checkImageFiles(all, check);
  const bad = new Set(imageProblems.map((s) => s.file));
  const trainRecords = tables.train.records.filter((r) => !bad.has(r.path));
  const testRecords = (tables.test?.records ?? []).filter((r) => !bad.has(r.path));
  const records = [...trainRecords, ...testRecords];

  const selection = resolveClasses(opts.classes ?? 'all', tables.train.classes);
  const modes = resolveUncertainty(opts.uncertainty, selection.names);
  const seed = String(opts.seed ?? DEFAULT_SEED);
  const val = opts.val ?? DEFAULT_VAL;
  const encodeOpts = { uncertainty: opts.uncertainty, blank: opts.blank ?? 'zero', noFindingImpliesNegative: !!opts.noFindingImpliesNegative, rng: new Rng(seed).fork('labels') };
  const trainLabels = encodeLabels(trainRecords, selection, encodeOpts);
  const testLabels = encodeLabels(testRecords, selection, { ...encodeOpts, rng: new Rng(seed).fork('labels-test') });
  const split = splitByPatient(trainRecords, { val, seed });
  const C = selection.names.length;
  const statsOf = (idx: number[]) => classStats(idx.map((i) => trainRecords[i]!), selectRows(trainLabels, C, idx), selection);

  const views: Record<string, number> = {};
  for (const r of records) {
    if (r.view) views[r.view] = (views[r.view] ?? 0) + 1;
    if (r.projection) views[r.projection] = (views[r.projection] ?? 0) + 1;
  }
  const trainStats = statsOf(split.train);
  return {
    dataset: tables.dataset,
    root: tables.root,
    tables: [...tables.train.files, ...(tables.test?.files ?? [])],
    rows: records.length,
    patients: new Set(records.map((r) => r.patientId)).size,
    studies: new Set(records.map((r) => r.studyId ?? `${r.patientId}/${r.id}`)).size,
    views,
    split: { train: split.train.length, val: split.val.length, test: testRecords.length },
    classes: trainStats,
    classesBySplit: { train: trainStats, val: statsOf(split.val), test: classStats(testRecords, testLabels, selection) },
    settings: {
      classes: selection.names,
      uncertainty: Object.fromEntries(selection.names.map((n, i) => [n, modes[i]!])),
      blank: encodeOpts.blank,
      noFindingImpliesNegative: encodeOpts.noFindingImpliesNegative,
      val,
      seed,
      views: opts.views ?? null,
      checkImages: check,
    },
    filtered: (tables.train.filtered ?? 0) + (tables.test?.filtered ?? 0),
    skipped: [...tables.train.skipped, ...(tables.test?.skipped ?? []), ...imageProblems],
  };
}

/** A plain-text report for the terminal. */
export function formatDataReport(r: DataReport, maxSkipped = 20): string {
  const lines: string[] = [];
  lines.push(`${r.dataset} at ${r.root}`);
  lines.push(`  rows ${r.rows}, patients ${r.patients}, studies ${r.studies}${r.filtered ? `, ${r.filtered} rows filtered out` : ''}`);
  lines.push(`  views: ${Object.entries(r.views).map(([k, v]) => `${k} ${v}`).join(', ') || 'not recorded'}`);
  lines.push(`  split (val ${r.settings.val}, seed ${r.settings.seed}, by patient): train ${r.split.train}, val ${r.split.val}, test ${r.split.test}`);
  lines.push(`  blank → ${r.settings.blank}${r.settings.noFindingImpliesNegative ? ' (No Finding = 1 implies blank findings are 0)' : ''}`);
  lines.push('');
  lines.push('  training split, per class:');
  const w = Math.max(5, ...Object.keys(r.classes).map((k) => k.length));
  lines.push(`  ${'class'.padEnd(w)}  ${['positive', 'negative', 'uncertain', 'blank', 'masked'].map((h) => h.padStart(9)).join(' ')}  uncertain →`);
  for (const [name, s] of Object.entries(r.classes)) {
    lines.push(`  ${name.padEnd(w)}  ${[s.positive, s.negative, s.uncertain, s.blank, s.masked].map((v) => String(v).padStart(9)).join(' ')}  ${r.settings.uncertainty[name]}`);
  }
  lines.push('');
  if (r.skipped.length === 0) lines.push('  nothing skipped');
  else {
    const { byReason } = summarizeSkipped(r.skipped);
    lines.push(`  skipped ${r.skipped.length} (${Object.entries(byReason).map(([reason, n]) => `${n} ${reason}`).join('; ')}):`);
    for (const l of formatSkipped(r.skipped, maxSkipped)) lines.push(`    ${l}`);
    if (r.skipped.length > maxSkipped) lines[lines.length - 1] += ' (--json lists all)';
  }
  return `${lines.join('\n')}\n`;
}
