/**
 * The one sort every ranking metric needs. A class's labelled cases are sorted by score and
 * collapsed into groups of equal score (ties), highest score first, with the number of positives
 * and negatives in each group: sklearn's `_binary_clf_curve` in counts. AUROC, average precision,
 * AUPRC, the ROC and PR curves, operating thresholds and confusion counts at any threshold are all
 * read off these groups (curves.ts), so each class is sorted once.
 *
 * Sorting is an LSD radix sort on the scores' sortable keys (radix.ts); two paths:
 * - packed: every score is exactly a float32 (model outputs are) and the span of the sortable keys
 *   fits 31 bits: one Uint32 array holds (key − min) << 1 | label, so a single keys-only sort carries
 *   the labels (ties stay together; their order by label does not matter);
 * - general: any float64 scores (64-bit keys, passes whose digit is constant are skipped), positives
 *   and negatives sorted apart and merged.
 * `sortColumn` is the sweep and sort both paths share; a column's summary (column-summary.ts) walks
 * its packed keys without building the groups.
 *
 * Labels: 1 positive, 0 negative, MASKED (-1) or any negative value or NaN = not labelled (skipped).
 * A label strictly between 0 and 1 (a smoothed label) or above 1 is read as positive when >= 0.5 and
 * counted in `nonBinary`, so a caller can say how many there were.
 *
 * For re-counting with a weight per row (the bootstrap, the DeLong test), `groupIndex` maps each
 * labelled row to its group and `weightedGroups` re-counts the groups from it.
 */
import { MedtrainError } from '../util/errors.js';
import { key32, key64, radixSort32, radixSort64, scoreOfKey64 } from './radix.js';
import type { ColumnCounts, ColumnView, Numbers, ScoreGroups } from './types.js';

export interface GroupResult extends ScoreGroups, ColumnCounts {}

// float32 → its bits.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** What the sweep over a column found, and where its sort left the result. */
export interface SortedColumn {
  counts: ColumnCounts;
  /** Labelled cases with score >= the threshold asked for, and positives among them. */
  atThreshold: { predicted: number; tp: number };
  /** Packed path: sorted keys (key − minKey) << 1 | label, in scratch (valid until the next call); general path: the groups. */
  packed: { sorted: Uint32Array; m: number; minKey: number } | null;
  groups: ScoreGroups | null;
}

/**
 * Sweep one column once and sort it. The sweep counts, counts the cases at or above `threshold`,
 * and, betting on the common case (float32 scores >= 0, such as probabilities), writes the packed
 * keys bits << 1 | label and their range at once.
 */
export function sortColumn(scores: Numbers, labels: Numbers, view: ColumnView | undefined, threshold: number): SortedColumn {
  const v = view ?? { offset: 0, stride: 1, length: scores.length };
  checkView(scores, labels, v);
  const { offset, stride, length: n } = v;
  scratch(n);
  const keys = bufA;
  let lo = 0xffffffff;
  let hi = 0;
  let m = 0;
  let mp = 0;
  let nonBinary = 0;
  let nanScores = 0;
  let exact32 = true;
  let negative = false;
  let predicted = 0;
  let tpAt = 0;
  const bits = scores instanceof Float32Array ? new Uint32Array(scores.buffer, scores.byteOffset, scores.length) : null;
  for (let i = 0, j = offset; i < n; i++, j += stride) {
    const y = labels[j]!;
    if (!(y >= 0)) continue;
    const pos = y >= 0.5 ? 1 : 0;
    mp += pos;
    if (y !== 0 && y !== 1) nonBinary++;
    const s = scores[j]!;
    if (s >= threshold) {
      predicted++;
      tpAt += pos;
    }
    let b: number;
    if (bits) {
      b = bits[j]!;
    } else {
      if (exact32 && s === s && Math.fround(s) !== s) exact32 = false;
      f32[0] = s;
      b = u32[0]!;
    }
    if ((b & 0x7fffffff) > 0x7f800000) nanScores++;
    if (b === 0x80000000) b = 0; // -0 → +0
    if (b & 0x80000000) negative = true;
    const x = ((b << 1) | pos) >>> 0;
    keys[m++] = x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const out: SortedColumn = { counts: { labelled: m, labelledPositives: mp, nonBinary, nanScores }, atThreshold: { predicted, tp: tpAt }, packed: null, groups: null };
  if (nanScores > 0 || m === 0) out.groups = emptyGroups();
  else if (exact32 && !negative) out.packed = { sorted: radixSort32(bufA, bufB, m, lo, hi), m, minKey: 0x80000000 };
  else {
    const signed = exact32 ? repackSigned(scores, labels, v, m) : null;
    if (signed) out.packed = { sorted: radixSort32(bufA, bufB, m, 0, signed.span), m, minKey: signed.minKey };
    else out.groups = groupsGeneral(scores, labels, v, m, mp);
  }
  return out;
}

/**
 * Group one class's labelled cases by score. `scores` and `labels` are flat arrays read through
 * `view` (default: the whole array, stride 1); for a row-major [rows, classes] matrix pass
 * `{offset: c, stride: classes, length: rows}`.
 */
export function scoreGroups(scores: Numbers, labels: Numbers, view?: ColumnView): GroupResult {
  const c = sortColumn(scores, labels, view, Infinity);
  const groups = c.packed ? groupsPacked(c.packed.sorted, c.packed.m, c.packed.minKey) : c.groups!;
  return { ...groups, ...c.counts };
}

/**
 * Float32 scores with negative values: pack (key − min) << 1 | label, when the keys span fewer than
 * 2^31 values (any realistic logits do); else null (the general path sorts them).
 */
function repackSigned(scores: Numbers, labels: Numbers, v: ColumnView, m: number): { minKey: number; span: number } | null {
  const keys = bufA;
  const lab = labBuf;
  let minKey = 0xffffffff;
  let maxKey = 0;
  let k = 0;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) {
    const y = labels[j]!;
    if (!(y >= 0)) continue;
    f32[0] = scores[j]!;
    const key = key32(u32[0]!);
    if (key < minKey) minKey = key;
    if (key > maxKey) maxKey = key;
    keys[k] = key;
    lab[k] = y >= 0.5 ? 1 : 0;
    k++;
  }
  if (maxKey - minKey >= 0x80000000) return null;
  for (let i = 0; i < m; i++) keys[i] = (((keys[i]! - minKey) << 1) | lab[i]!) >>> 0;
  return { minKey, span: (maxKey - minKey) * 2 + 1 };
}

function checkView(scores: Numbers, labels: Numbers, v: ColumnView): void {
  const last = v.offset + (v.length - 1) * v.stride;
  if (v.length > 0 && (last >= scores.length || last >= labels.length)) {
    throw new MedtrainError(`scores (${scores.length}) and labels (${labels.length}) are too short for ${v.length} rows at stride ${v.stride}`, {
      code: 'shape-mismatch',
      hint: 'pass predictions and labels of the same shape [rows, classes], row-major',
    });
  }
}

export function emptyGroups(): ScoreGroups {
  return { thresholds: new Float64Array(0), pos: new Float64Array(0), neg: new Float64Array(0), positives: 0, negatives: 0 };
}

// Scratch buffers reused between calls (metrics run on one thread; sizes only grow).
let bufA = new Uint32Array(0);
let bufB = new Uint32Array(0);
let bufC = new Uint32Array(0);
let bufD = new Uint32Array(0);
let labBuf = new Uint8Array(0);
let groupBits = new Uint32Array(0);
let groupP = new Float64Array(0);
let groupN = new Float64Array(0);
function scratch(n: number): void {
  if (bufA.length >= n) return;
  const size = Math.max(n, bufA.length * 2);
  groupBits = new Uint32Array(size);
  groupP = new Float64Array(size);
  groupN = new Float64Array(size);
  bufA = new Uint32Array(size);
  bufB = new Uint32Array(size);
  bufC = new Uint32Array(size);
  bufD = new Uint32Array(size);
  labBuf = new Uint8Array(size);
}

/** Packed path: walk the sorted keys from the highest down, one group per distinct score. */
function groupsPacked(sorted: Uint32Array, m: number, minKey: number): ScoreGroups {
  const bitsOut = groupBits; // float32 bits of each group's score
  const pos = groupP;
  const neg = groupN;
  let g = -1;
  let prev = -1;
  let start = m; // one past the current group's highest element
  let tp = 0;
  let positives = 0;
  for (let i = m - 1; i >= 0; i--) {
    const x = sorted[i]!;
    const s = x >>> 1;
    if (s !== prev) {
      if (g >= 0) {
        pos[g] = tp;
        neg[g] = start - i - 1 - tp;
      }
      g++;
      prev = s;
      start = i + 1;
      tp = 0;
      const key = s + minKey;
      bitsOut[g] = key >= 0x80000000 ? key - 0x80000000 : ~key >>> 0;
    }
    tp += x & 1;
    positives += x & 1;
  }
  pos[g] = tp;
  neg[g] = start - tp;
  const G = g + 1;
  // float32 → float64 for the whole array at once.
  const thresholds = new Float64Array(G);
  thresholds.set(new Float32Array(bitsOut.buffer, 0, G));
  return { thresholds, pos: pos.slice(0, G), neg: neg.slice(0, G), positives, negatives: m - positives };
}

function allocGroups(g: number): ScoreGroups {
  return { thresholds: new Float64Array(g), pos: new Float64Array(g), neg: new Float64Array(g), positives: 0, negatives: 0 };
}

function groupsGeneral(scores: Numbers, labels: Numbers, v: ColumnView, m: number, np: number): ScoreGroups {
  scratch(m);
  // Positives at the front of the scratch arrays, negatives after them.
  let ip = 0;
  let ineg = np;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) {
    const y = labels[j]!;
    if (!(y >= 0)) continue;
    key64(scores[j]!, bufA, y >= 0.5 ? ip++ : ineg++, bufB);
  }
  const nn = m - np;
  const [ph, pl] = radixSort64(bufA.subarray(0, np), bufB.subarray(0, np), bufC.subarray(0, np), bufD.subarray(0, np), np);
  const [nh, nl] = radixSort64(bufA.subarray(np, m), bufB.subarray(np, m), bufC.subarray(np, m), bufD.subarray(np, m), nn);
  // Merge from the top: first count groups, then fill.
  const walk = (emit: ((hi: number, lo: number, tp: number, fp: number) => void) | null): number => {
    let i = np - 1;
    let j = nn - 1;
    let g = 0;
    while (i >= 0 || j >= 0) {
      let hiK: number;
      let loK: number;
      if (j < 0 || (i >= 0 && (ph[i]! > nh[j]! || (ph[i] === nh[j] && pl[i]! >= nl[j]!)))) {
        hiK = ph[i]!;
        loK = pl[i]!;
      } else {
        hiK = nh[j]!;
        loK = nl[j]!;
      }
      let tp = 0;
      let fp = 0;
      while (i >= 0 && ph[i] === hiK && pl[i] === loK) {
        tp++;
        i--;
      }
      while (j >= 0 && nh[j] === hiK && nl[j] === loK) {
        fp++;
        j--;
      }
      if (emit) emit(hiK, loK, tp, fp);
      g++;
    }
    return g;
  };
  const out = allocGroups(walk(null));
  let gi = 0;
  walk((hiK, loK, tp, fp) => {
    out.thresholds[gi] = scoreOfKey64(hiK, loK);
    out.pos[gi] = tp;
    out.neg[gi] = fp;
    gi++;
  });
  out.positives = np;
  out.negatives = nn;
  return out;
}

/**
 * For every labelled row of a class, the index of its score's group: what weighted re-counting
 * (the bootstrap) and the DeLong test need. Built once per class by binary search.
 */
export interface GroupIndex {
  groups: ScoreGroups;
  /** Row numbers (0-based, in the view) of the labelled cases, ascending. */
  rows: Int32Array;
  /** Group of each of those rows. */
  group: Int32Array;
  /** 1 where that row is positive. */
  label: Uint8Array;
}

export function groupIndex(scores: Numbers, labels: Numbers, groups: ScoreGroups, view?: ColumnView): GroupIndex {
  const v = view ?? { offset: 0, stride: 1, length: scores.length };
  let m = 0;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) if (labels[j]! >= 0) m++;
  const rows = new Int32Array(m);
  const group = new Int32Array(m);
  const label = new Uint8Array(m);
  const t = groups.thresholds;
  let k = 0;
  for (let i = 0, j = v.offset; i < v.length; i++, j += v.stride) {
    const y = labels[j]!;
    if (!(y >= 0)) continue;
    const s = scores[j]!;
    // thresholds decrease: find the group whose score equals s.
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (t[mid]! > s) lo = mid + 1;
      else hi = mid;
    }
    rows[k] = i;
    group[k] = lo;
    label[k] = y >= 0.5 ? 1 : 0;
    k++;
  }
  return { groups, rows, group, label };
}

/** Re-count a class's groups with a weight per row (bootstrap multiplicities); weights indexed by row. */
export function weightedGroups(index: GroupIndex, weights: Numbers, out?: ScoreGroups): ScoreGroups {
  const g = index.groups.thresholds.length;
  const res = out ?? { thresholds: index.groups.thresholds, pos: new Float64Array(g), neg: new Float64Array(g), positives: 0, negatives: 0 };
  res.pos.fill(0);
  res.neg.fill(0);
  let positives = 0;
  let negatives = 0;
  const { rows, group, label } = index;
  for (let k = 0; k < rows.length; k++) {
    const w = weights[rows[k]!]!;
    if (w === 0) continue;
    if (label[k]) {
      res.pos[group[k]!]! += w;
      positives += w;
    } else {
      res.neg[group[k]!]! += w;
      negatives += w;
    }
  }
  res.positives = positives;
  res.negatives = negatives;
  return res;
}
