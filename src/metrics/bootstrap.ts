/**
 * Seeded bootstrap confidence intervals for every figure of the report (per class, macro, micro).
 *
 * Each replicate draws the cases again with replacement — or, with `groups` (a patient id per row),
 * draws patients with replacement and takes all of each drawn patient's cases, so correlated images
 * of one patient stay together — and recomputes every metric at the same operating thresholds.
 * A replicate is a multiplicity per row; each class is sorted once and every replicate re-counts
 * the presorted score groups with those multiplicities (O(rows) per class and replicate, no sort).
 * That equals evaluating the materialised resample exactly (tested).
 *
 * Intervals are percentile intervals (the level's tails, NumPy's default linear interpolation).
 * A replicate in which a figure is undefined (a resample without positives for a class) is left out
 * of that figure's interval and `valid` says how many replicates it rests on. The macro figures of
 * a replicate average the classes included in the full-data macro; if one of them is undefined in
 * the replicate, so is that replicate's macro.
 */
import { MedtrainError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { confusionAt, ranking } from './curves.js';
import { groupIndex, weightedGroups, scoreGroups, type GroupIndex } from './groups.js';
import {
  checkMatrix,
  exclusionReason,
  thresholdFigures,
  thresholdsFor,
  type RankingFigures,
  type ReportOptions,
  type ThresholdFigures,
  RANKING_KEYS,
  THRESHOLD_KEYS,
} from './report.js';
import { fbetaKey } from './scores.js';
import type { Confusion, Numbers, ScoreGroups } from './types.js';

export interface BootstrapOptions extends ReportOptions {
  /** The seeded generator (src/util/rng.ts); the same seed gives the same intervals. */
  rng: Rng;
  /** Replicates (default 1000). */
  replicates?: number;
  /** Coverage of the intervals (default 0.95). */
  level?: number;
  /** A group id per row (the patient): resample groups instead of cases. */
  groups?: ArrayLike<string | number>;
}

export interface Interval {
  low: number | null;
  high: number | null;
  /** Replicates in which the figure was defined. */
  valid: number;
}

export type IntervalSet = Record<string, Interval>;

export interface BootstrapResult {
  replicates: number;
  level: number;
  method: 'percentile';
  resampling: 'case' | 'group';
  /** Number of resampling units (cases or groups). */
  units: number;
  classes: Record<string, IntervalSet>;
  macro: IntervalSet;
  micro: IntervalSet;
}

/** NumPy's default ('linear') quantile of the finite values; null when there are none. */
export function quantile(sorted: Float64Array, q: number): number | null {
  const m = sorted.length;
  if (m === 0) return null;
  const h = (m - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, m - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Interval from the collected replicate values (NaN = undefined in that replicate). */
function interval(values: Float64Array, level: number): Interval {
  const ok = values.filter((v) => !Number.isNaN(v)).sort();
  const a = (1 - level) / 2;
  return { low: quantile(ok, a), high: quantile(ok, 1 - a), valid: ok.length };
}

/**
 * Draw one replicate's multiplicity per row: rows drawn with replacement, or groups drawn with
 * replacement and each row weighted by how often its group was drawn.
 */
export function drawMultiplicities(rng: Rng, rows: number, groupOf: Int32Array | null, numGroups: number, out: Float64Array, scratch: Float64Array): void {
  out.fill(0);
  if (!groupOf) {
    for (let i = 0; i < rows; i++) out[rng.int(rows)]!++;
    return;
  }
  scratch.fill(0);
  for (let i = 0; i < numGroups; i++) scratch[rng.int(numGroups)]!++;
  for (let r = 0; r < rows; r++) out[r] = scratch[groupOf[r]!]!;
}

/** Group ids → dense integers, in order of first appearance. */
export function denseGroups(groups: ArrayLike<string | number>, rows: number): [Int32Array, number] {
  if (groups.length !== rows) throw new MedtrainError(`${groups.length} group ids for ${rows} rows`, { code: 'shape-mismatch', hint: 'give one patient (group) id per row' });
  const ids = new Map<string | number, number>();
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    const g = groups[i]!;
    let id = ids.get(g);
    if (id === undefined) {
      id = ids.size;
      ids.set(g, id);
    }
    out[i] = id;
  }
  return [out, ids.size];
}

export function bootstrapReport(scores: Numbers, labels: Numbers, numClasses: number, opts: BootstrapOptions): BootstrapResult {
  const [rows, names] = checkMatrix(scores, labels, numClasses, opts.classNames);
  const B = opts.replicates ?? 1000;
  const level = opts.level ?? 0.95;
  if (!Number.isInteger(B) || B < 1) throw new MedtrainError('bootstrap replicates must be a positive integer', { code: 'bad-bootstrap', value: B });
  if (!(level > 0 && level < 1)) throw new MedtrainError('confidence level must lie between 0 and 1', { code: 'bad-bootstrap', value: level });
  if (rows === 0) throw new MedtrainError('no rows to resample', { code: 'empty' });
  const thresholds = thresholdsFor(opts.thresholds, numClasses);
  const betas = opts.betas ?? [];
  const zd = opts.zeroDivision === undefined ? null : opts.zeroDivision;
  const [groupOf, numGroups] = opts.groups ? denseGroups(opts.groups, rows) : [null, rows];

  // Presort each class once. The classes the full-data macro averages (both labels present) are
  // the classes every replicate's macro averages.
  const indexes: (GroupIndex | null)[] = [];
  const included: boolean[] = [];
  for (let c = 0; c < numClasses; c++) {
    const view = { offset: c, stride: numClasses, length: rows };
    const g = scoreGroups(scores, labels, view);
    included.push(exclusionReason(g) === null);
    indexes.push(g.nanScores ? null : groupIndex(scores, labels, g, view));
  }
  const wantMicro = opts.micro ?? true;
  const microG = wantMicro ? scoreGroups(scores, labels) : null;
  const microIndex = microG && !microG.nanScores ? groupIndex(scores, labels, microG) : null;

  const keys: string[] = [...RANKING_KEYS, ...THRESHOLD_KEYS, ...betas.map(fbetaKey)];
  const isRanking = keys.map((k) => (RANKING_KEYS as readonly string[]).includes(k));
  const store = () => keys.map(() => new Float64Array(B).fill(NaN));
  const perClass = names.map(() => store());
  const macro = store();
  const micro = store();

  const w = new Float64Array(rows);
  const scratch = new Float64Array(numGroups);
  const wEntries = microIndex ? new Float64Array(rows * numClasses) : null;
  const buffers = indexes.map((ix) => (ix ? emptyLike(ix.groups) : null));
  const microBuffer = microIndex ? emptyLike(microIndex.groups) : null;
  const sum = new Float64Array(keys.length);
  const count = new Float64Array(keys.length);
  const broken = new Uint8Array(keys.length);

  for (let b = 0; b < B; b++) {
    drawMultiplicities(opts.rng, rows, groupOf, numGroups, w, scratch);
    const conf: Confusion = { tp: 0, fp: 0, tn: 0, fn: 0 };
    sum.fill(0);
    count.fill(0);
    broken.fill(0);
    for (let c = 0; c < numClasses; c++) {
      const ix = indexes[c];
      if (!ix) continue; // NaN scores: nothing to resample, and never included

      const g = weightedGroups(ix, w, buffers[c]!);
      const cc = confusionAt(g, thresholds[c]!);
      conf.tp += cc.tp;
      conf.fp += cc.fp;
      conf.tn += cc.tn;
      conf.fn += cc.fn;
      const v = figureList(keys, ranking(g), thresholdFigures(cc, betas, zd));
      for (let k = 0; k < keys.length; k++) {
        const x = v[k]!;
        if (x !== null) perClass[c]![k]![b] = x;
        // Macro: over the included classes; their ranking figures must all be defined, an undefined
        // threshold score is left out of its mean (as in the report).
        if (!included[c]) continue;
        if (x === null) {
          if (isRanking[k]) broken[k] = 1;
        } else {
          sum[k]! += x;
          count[k]!++;
        }
      }
    }
    for (let k = 0; k < keys.length; k++) if (!broken[k] && count[k]! > 0) macro[k]![b] = sum[k]! / count[k]!;
    if (wantMicro) {
      let r: RankingFigures = { auroc: null, ap: null, auprc: null };
      if (microIndex && wEntries) {
        for (let i = 0; i < rows; i++) wEntries.fill(w[i]!, i * numClasses, (i + 1) * numClasses);
        r = ranking(weightedGroups(microIndex, wEntries, microBuffer!));
      }
      const v = figureList(keys, r, thresholdFigures(conf, betas, zd));
      for (let k = 0; k < keys.length; k++) if (v[k] !== null) micro[k]![b] = v[k]!;
    }
  }

  const toIntervals = (s: Float64Array[]): IntervalSet => Object.fromEntries(keys.map((k, i) => [k, interval(s[i]!, level)]));
  return {
    replicates: B,
    level,
    method: 'percentile',
    resampling: groupOf ? 'group' : 'case',
    units: numGroups,
    classes: Object.fromEntries(names.map((n, c) => [n, toIntervals(perClass[c]!)])),
    macro: toIntervals(macro),
    micro: wantMicro ? toIntervals(micro) : {},
  };
}

function emptyLike(g: ScoreGroups): ScoreGroups {
  const n = g.thresholds.length;
  return { thresholds: g.thresholds, pos: new Float64Array(n), neg: new Float64Array(n), positives: 0, negatives: 0 };
}

/** The figures in `keys` order: ranking, threshold scores, extra F-betas. */
function figureList(keys: readonly string[], r: RankingFigures, t: ThresholdFigures): (number | null)[] {
  return keys.map((k) => {
    if (k === 'auroc' || k === 'ap' || k === 'auprc') return r[k];
    if (k in t && k !== 'fbeta') return t[k as (typeof THRESHOLD_KEYS)[number]];
    return t.fbeta[k] ?? null;
  });
}
