/**
 * Splits grouped by patient: no patient ever has images on two sides. A train/val split with a
 * ratio and seed (DS9505 = val 0.05), optionally stratified over the labels (iterative
 * stratification at the patient level, Sechidis et al. 2011), grouped k-fold, and the split as a CSV
 * in the run folder so a run can be reproduced or re-evaluated on exactly the same cases.
 */
import { MedtrainError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { Rng } from '../util/rng.js';
import { BadInput } from '../util/bad-input.js';
import { locateColumns, streamCsv, toCsv } from '../util/csv.js';
import { isPositive, type CaseRecord } from '../core/types.js';

/** Indices into the records, ascending. */
export interface Split {
  train: number[];
  val: number[];
  test?: number[];
}

/** Multi-label stratification: the encoded labels [n × C] of the records. */
export interface Stratify {
  labels: Float32Array;
  numClasses: number;
}

export interface SplitOptions {
  /** Fraction of the rows for validation, in [0, 1) (the reference default is 0.2; DS9505 = 0.05). */
  val: number;
  seed: string | number;
  stratify?: Stratify;
}

interface Group {
  rows: number[];
  /** Positives per class (stratified splits only). */
  pos?: Int32Array;
}

function groupByPatient(records: readonly Pick<CaseRecord, 'patientId'>[], stratify?: Stratify): Group[] {
  const byId = new Map<string, Group>();
  const groups: Group[] = [];
  records.forEach((r, i) => {
    let g = byId.get(r.patientId);
    if (!g) {
      g = { rows: [] };
      byId.set(r.patientId, g);
      groups.push(g);
    }
    g.rows.push(i);
  });
  if (stratify) {
    const C = stratify.numClasses;
    if (stratify.labels.length !== records.length * C) throw new Error(`stratify: ${stratify.labels.length} labels for ${records.length} records × ${C} classes`);
    for (const g of groups) {
      g.pos = new Int32Array(C);
      for (const r of g.rows) {
        for (let c = 0; c < C; c++) {
          const y = stratify.labels[r * C + c]!;
          if (isPositive(y)) g.pos[c]!++;
        }
      }
    }
  }
  return groups;
}

/**
 * Assign groups to folds with target row proportions. Stratified: iterative stratification (the
 * rarest class first, each group to the fold that most lacks that class, then rows); otherwise
 * groups in seeded random order, each to the fold furthest below its row target.
 */
function assignFolds(groups: Group[], proportions: number[], rng: Rng, C: number): Int32Array {
  const F = proportions.length;
  const fold = new Int32Array(groups.length).fill(-1);
  const n = groups.reduce((s, g) => s + g.rows.length, 0);
  const wantRows = proportions.map((p) => p * n);
  const order = rng.permutation(groups.length);
  const pick = (scores: (f: number) => number[]): number => {
    let best = 0;
    let bestKey: number[] | null = null;
    for (let f = 0; f < F; f++) {
      const k = scores(f);
      let better = bestKey === null;
      if (!better) {
        for (let i = 0; i < k.length; i++) {
          if (k[i]! !== bestKey![i]!) {
            better = k[i]! > bestKey![i]!;
            break;
          }
        }
      }
      if (better) {
        best = f;
        bestKey = k;
      }
    }
    return best;
  };
  const place = (gi: number, f: number, wantPos?: Float64Array[]) => {
    fold[gi] = f;
    const g = groups[gi]!;
    wantRows[f]! -= g.rows.length;
    if (wantPos && g.pos) for (let c = 0; c < C; c++) wantPos[f]![c]! -= g.pos[c]!;
  };
  if (groups[0]?.pos) {
    const total = new Float64Array(C);
    for (const g of groups) for (let c = 0; c < C; c++) total[c]! += g.pos![c]!;
    const wantPos = proportions.map((p) => total.map((t) => p * t));
    const remaining = Float64Array.from(total);
    for (;;) {
      // The class with the fewest positives still to place.
      let c = -1;
      for (let k = 0; k < C; k++) if (remaining[k]! > 0 && (c < 0 || remaining[k]! < remaining[c]!)) c = k;
      if (c < 0) break;
      for (const gi of order) {
        const g = groups[gi]!;
        if (fold[gi] !== -1 || g.pos![c]! === 0) continue;
        place(gi, pick((f) => [wantPos[f]![c]!, wantRows[f]!]), wantPos);
        for (let k = 0; k < C; k++) remaining[k]! -= g.pos![k]!;
      }
    }
  }
  for (const gi of order) if (fold[gi] === -1) place(gi, pick((f) => [wantRows[f]!, -f]));
  return fold;
}

function collect(groups: Group[], fold: Int32Array, f: number): number[] {
  const out: number[] = [];
  groups.forEach((g, i) => {
    if (fold[i] === f) out.push(...g.rows);
  });
  return out.sort((a, b) => a - b);
}

/** Train/val split grouped by patient. */
export function splitByPatient(records: readonly Pick<CaseRecord, 'patientId'>[], opts: SplitOptions): Split {
  if (!(opts.val >= 0 && opts.val < 1)) throw new MedtrainError('the validation fraction must be in [0, 1)', { code: 'bad-split', value: opts.val, hint: 'e.g. 0.05 for DS9505, 0.2 for the reference default' });
  const all = records.map((_, i) => i);
  if (opts.val === 0 || records.length === 0) return { train: all, val: [] };
  const groups = groupByPatient(records, opts.stratify);
  if (groups.length < 2) throw new MedtrainError('cannot split one patient into train and validation', { code: 'bad-split', hint: 'the table needs at least two patients; set val to 0 to train on everything' });
  const rng = new Rng(opts.seed).fork('split');
  const C = opts.stratify?.numClasses ?? 0;
  const fold = opts.stratify ? assignFolds(groups, [1 - opts.val, opts.val], rng, C) : assignByRows(groups, opts.val, rng);
  return { train: collect(groups, fold, 0), val: collect(groups, fold, 1) };
}

/** Random patients into val until its rows reach val·n (the last one only if that lands closer). */
function assignByRows(groups: Group[], val: number, rng: Rng): Int32Array {
  const n = groups.reduce((s, g) => s + g.rows.length, 0);
  const target = Math.max(1, Math.round(val * n));
  const fold = new Int32Array(groups.length);
  let inVal = 0;
  for (const gi of rng.permutation(groups.length)) {
    if (inVal >= target) break;
    const size = groups[gi]!.rows.length;
    if (inVal + size <= target || inVal + size - target < target - inVal) {
      fold[gi] = 1;
      inVal += size;
    }
  }
  if (inVal === 0) fold[rng.int(groups.length)] = 1;
  if (inVal === n) fold[fold.indexOf(1)] = 0;
  return fold;
}

export interface KFoldOptions {
  k: number;
  seed: string | number;
  stratify?: Stratify;
}

/** Grouped k-fold: k splits whose val sets partition the records, each patient in exactly one. */
export function groupedKFold(records: readonly Pick<CaseRecord, 'patientId'>[], opts: KFoldOptions): Split[] {
  const k = opts.k;
  if (!Number.isInteger(k) || k < 2) throw new MedtrainError('k-fold needs k >= 2', { code: 'bad-split', value: k });
  const groups = groupByPatient(records, opts.stratify);
  if (groups.length < k) throw new MedtrainError(`${k} folds need at least ${k} patients; the table has ${groups.length}`, { code: 'bad-split', value: k });
  const fold = assignFolds(groups, Array<number>(k).fill(1 / k), new Rng(opts.seed).fork('kfold'), opts.stratify?.numClasses ?? 0);
  return Array.from({ length: k }, (_, f) => {
    const val = collect(groups, fold, f);
    const inVal = new Uint8Array(records.length);
    for (const i of val) inVal[i] = 1;
    return { train: records.map((_, i) => i).filter((i) => !inVal[i]), val };
  });
}

// ---------------------------------------------------------------------------------------------
// The split file

/** Write `id,patient,split` rows (atomically): the exact cases of each side. */
export async function writeSplitCsv(path: string, records: readonly Pick<CaseRecord, 'id' | 'patientId'>[], split: Split): Promise<void> {
  const rows: Record<string, string>[] = [];
  for (const side of ['train', 'val', 'test'] as const) {
    for (const i of split[side] ?? []) {
      const r = records[i];
      if (!r) throw new Error(`writeSplitCsv: index ${i} out of range`);
      rows.push({ id: r.id, patient: r.patientId, split: side });
    }
  }
  await writeFileAtomic(path, toCsv(rows, ['id', 'patient', 'split']));
}

/** Read a split file back against the records (matched by id). An id the records lack is an error. */
export async function readSplitCsv(path: string, records: readonly Pick<CaseRecord, 'id'>[]): Promise<Split> {
  const byId = new Map<string, number[]>();
  records.forEach((r, i) => {
    const l = byId.get(r.id);
    if (l) l.push(i);
    else byId.set(r.id, [i]);
  });
  const split: Required<Split> = { train: [], val: [], test: [] };
  let cols: { id: number; split: number } | undefined;
  await streamCsv(path, new BadInput('fail'), {
    header(cells) {
      cols = locateColumns(path, cells, ['id', 'split']);
    },
    row(cells, line) {
      const id = cells[cols!.id]!;
      const side = cells[cols!.split]!.trim();
      if (side !== 'train' && side !== 'val' && side !== 'test') throw new MedtrainError('unknown split side', { code: 'bad-split-file', file: path, line, column: 'split', value: side, hint: 'use train, val or test' });
      const idx = byId.get(id)?.shift();
      if (idx === undefined) throw new MedtrainError('the split names a case the table does not have', { code: 'bad-split-file', file: path, line, column: 'id', value: id, hint: 'read the split against the same label table (and view filter) the run used' });
      split[side].push(idx);
    },
  }, 'split file');
  for (const s of Object.values(split)) s.sort((a, b) => a - b);
  return split.test.length ? split : { train: split.train, val: split.val };
}
