/**
 * The one sort every ranking metric needs. A class's labelled cases are sorted by score and
 * collapsed into groups of equal score (ties), highest score first, with the number of positives
 * and negatives in each group: sklearn's `_binary_clf_curve` in counts. AUROC, average precision,
 * AUPRC, the ROC and PR curves, operating thresholds and confusion counts at any threshold are all
 * read off these groups (curves.ts), so each class is sorted once.
 *
 * Sorting is an LSD radix sort on the scores' IEEE-754 bits (O(n)); two paths:
 * - packed: every score is exactly a float32 (model outputs are) and the span of the sortable keys
 *   fits 31 bits: one Uint32 array holds (key − min) << 1 | label, so a single keys-only sort carries
 *   the labels (ties stay together; their order by label does not matter);
 * - general: any float64 scores (64-bit keys, passes whose digit is constant are skipped), positives
 *   and negatives sorted apart and merged.
 *
 * Labels: 1 positive, 0 negative, MASKED (-1) or any negative value or NaN = not labelled (skipped).
 * A label strictly between 0 and 1 (a smoothed label) or above 1 is read as positive when >= 0.5 and
 * counted in `nonBinary`, so a caller can say how many there were.
 */
import { MedtrainError } from '../util/errors.js';
import { ranking, type Confusion, type Ranking } from './curves.js';

/** Cases of one class grouped by distinct score, in decreasing score order. */
export interface ScoreGroups {
  /** Distinct scores, decreasing. */
  thresholds: Float64Array;
  /** Positives (or their total weight) per group. */
  pos: Float64Array;
  /** Negatives (or their total weight) per group. */
  neg: Float64Array;
  /** Total positives (weight). */
  positives: number;
  /** Total negatives (weight). */
  negatives: number;
}

/** Where a class's values sit in a flat array: element i is at offset + i * stride. */
export interface ColumnView {
  offset: number;
  stride: number;
  /** Number of elements (rows). */
  length: number;
}

export type Numbers = ArrayLike<number>;

export interface ColumnCounts {
  /** Labelled cases and, of them, positives (also when NaN scores leave the groups empty). */
  labelled: number;
  labelledPositives: number;
  /** Labels that were neither 0, 1 nor masked (read as positive when >= 0.5). */
  nonBinary: number;
  /** Scores that were NaN: the class cannot be ranked (groups are empty then). */
  nanScores: number;
}

export interface GroupResult extends ScoreGroups, ColumnCounts {}

const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// Index of the high 32-bit word of a float64 (little-endian on every platform Node supports).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Sortable unsigned key of a float32's bits: order of keys = order of values (-0 read as +0). */
function key32(bits: number): number {
  if (bits === 0x80000000) return 0x80000000; // -0 → +0
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
}

/** What the sweep over a column found, and where its sort left the result. */
interface SortedColumn {
  counts: ColumnCounts;
  /** Labelled cases with score >= the threshold asked for, and positives among them. */
  atThreshold: { predicted: number; tp: number };
  /** Packed path: sorted keys in scratch (key − minKey) << 1 | label; general path: the groups. */
  packed: { sorted: Uint32Array; m: number; minKey: number } | null;
  groups: ScoreGroups | null;
}

/**
 * Sweep one column once and sort it. The sweep counts, counts the cases at or above `threshold`,
 * and, betting on the common case (float32 scores >= 0, such as probabilities), writes the packed
 * keys bits << 1 | label and their range at once.
 */
function sortColumn(scores: Numbers, labels: Numbers, view: ColumnView | undefined, threshold: number): SortedColumn {
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

export interface ColumnSummary extends ColumnCounts {
  /** Confusion counts at the threshold (a case is positive when score >= threshold). */
  confusion: Confusion;
  ranking: Ranking;
}

/**
 * Ranking metrics and the confusion counts at `threshold` of one column, in one sort and one walk
 * over the sorted keys without building the groups: what a per-class report needs.
 */
export function columnSummary(scores: Numbers, labels: Numbers, view: ColumnView | undefined, threshold: number): ColumnSummary {
  const c = sortColumn(scores, labels, view, threshold);
  const { labelled, labelledPositives, nanScores } = c.counts;
  const P = nanScores ? 0 : labelledPositives;
  const N = nanScores ? 0 : labelled - labelledPositives;
  const confusion = nanScores
    ? { tp: 0, fp: 0, tn: 0, fn: 0 }
    : { tp: c.atThreshold.tp, fp: c.atThreshold.predicted - c.atThreshold.tp, fn: P - c.atThreshold.tp, tn: N - (c.atThreshold.predicted - c.atThreshold.tp) };
  let rank: Ranking;
  if (c.packed) {
    const r = RANK_OUT;
    walkPacked(c.packed.sorted, c.packed.m, c.packed.minKey, Infinity, r, 0);
    rank = rankingOf(r, 0);
  } else {
    rank = ranking(c.groups!);
  }
  return { ...c.counts, confusion, ranking: rank };
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

const MAX_BITS = 14;
const hist = new Int32Array(3 << MAX_BITS);
const MASK = (1 << 11) - 1;
const RADIX = 1 << 11;

/**
 * LSD radix sort of uint32 keys in [lo, hi], ascending, on the digits of key − lo: as few passes
 * as the span needs (two of up to 14 bits when it fits 28 bits, as float32 scores within
 * [1.5e-5, 1] do; else three of up to 11 bits); a pass whose digit is the same for every key is skipped.
 * Sorts keys[0..n) using tmp; returns whichever of the two holds the result. Each loop is its own
 * small function: V8 compiles those much tighter than one loop with the pass count as a variable.
 */
export function radixSort32(keys: Uint32Array, tmp: Uint32Array, n: number, lo: number, hi: number): Uint32Array {
  const span = hi - lo;
  const need = span === 0 ? 1 : 32 - Math.clz32(span);
  const passes = need <= MAX_BITS ? 1 : need <= 2 * MAX_BITS ? 2 : 3;
  const width = Math.ceil(need / passes);
  const size = 1 << width;
  hist.fill(0, 0, passes * size);
  histogram(keys, n, lo, width, size, passes);
  let src = keys;
  let dst = tmp;
  for (let q = 0; q < passes; q++) {
    if (prefixOrSkip(q * size, size, n)) continue;
    scatter(src, dst, n, lo, q * width, size - 1, q * size);
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Counts of every pass's digit of key − lo, in one read (hist[q * size + digit]). */
function histogram(keys: Uint32Array, n: number, lo: number, width: number, size: number, passes: number): void {
  const mask = size - 1;
  if (passes === 1) {
    for (let i = 0; i < n; i++) hist[(keys[i]! - lo) & mask]!++;
  } else if (passes === 2) {
    for (let i = 0; i < n; i++) {
      const d = (keys[i]! - lo) >>> 0;
      hist[d & mask]!++;
      hist[size + (d >>> width)]!++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const d = (keys[i]! - lo) >>> 0;
      hist[d & mask]!++;
      hist[size + ((d >>> width) & mask)]!++;
      hist[2 * size + (d >>> (2 * width))]!++;
    }
  }
}

/** One counting pass: src[i] to dst at the next slot of its digit ((key − lo) >>> shift) & mask. */
function scatter(src: Uint32Array, dst: Uint32Array, n: number, lo: number, shift: number, mask: number, off: number): void {
  for (let i = 0; i < n; i++) {
    const x = src[i]!;
    dst[hist[off + (((x - lo) >>> shift) & mask)]!++] = x;
  }
}

/** Turn hist[off..off+size) into start offsets; true when one bucket holds everything (skip the pass). */
function prefixOrSkip(off: number, size: number, n: number): boolean {
  let sum = 0;
  for (let b = 0; b < size; b++) {
    const c = hist[off + b]!;
    if (c === n) return true;
    hist[off + b] = sum;
    sum += c;
  }
  return false;
}

/** Fields `walkPacked` writes per column (NaN where a figure is undefined). */
export const WALK_FIELDS = 6;
const RANK_OUT = new Float64Array(WALK_FIELDS);

/**
 * The ranking walk over one column's sorted packed keys ((key − minKey) << 1 | label, ascending),
 * from the highest score down, a group of equal scores at a time: the sums of `ranking`
 * (curves.ts) without building the groups. Writes to out[o..o+6): AUROC, average precision,
 * AUPRC, positives, and the positives and cases at or above `thrKey` (a key from `thresholdKey`).
 */
export function walkPacked(sorted: Uint32Array, m: number, minKey: number, thrKey: number, out: Float64Array, o: number): void {
  let tps = 0;
  let fps = 0;
  let area = 0;
  let ap = 0;
  let pr = 0;
  let tpAt = -1;
  let atCount = 0;
  let i = m - 1;
  while (i >= 0) {
    const x = sorted[i]!;
    const s = x >>> 1;
    let tp = x & 1;
    let j = i - 1;
    while (j >= 0 && sorted[j]! >>> 1 === s) {
      tp += sorted[j]! & 1;
      j--;
    }
    const fp = i - j - tp;
    if (tpAt < 0 && s + minKey < thrKey) {
      tpAt = tps;
      atCount = tps + fps;
    }
    area += fp * (tps + tp * 0.5);
    if (tp > 0) {
      const before = tps + fps;
      const prevP = before > 0 ? tps / before : 1;
      tps += tp;
      fps += fp;
      const p = tps / (tps + fps);
      ap += tp * p;
      pr += tp * (p + prevP) * 0.5;
    } else {
      fps += fp;
    }
    i = j;
  }
  if (tpAt < 0) {
    tpAt = tps;
    atCount = m;
  }
  const P = tps;
  const N = fps;
  out[o] = P > 0 && N > 0 ? area / P / N : NaN;
  out[o + 1] = P > 0 ? Math.max(0, ap / P) : NaN;
  out[o + 2] = P > 0 ? pr / P : NaN;
  out[o + 3] = P;
  out[o + 4] = tpAt;
  out[o + 5] = atCount;
}

/** The ranking figures `walkPacked` wrote at out[o..], NaN read as undefined (null). */
export function rankingOf(out: Float64Array, o: number): Ranking {
  const v = (x: number) => (x === x ? x : null);
  return { auroc: v(out[o]!), ap: v(out[o + 1]!), auprc: v(out[o + 2]!) };
}

/**
 * The sortable key (key32) of the smallest float32 >= t, so that for float32 scores
 * score >= t exactly when key(score) >= thresholdKey(t). NaN: Infinity (no score reaches it).
 */
export function thresholdKey(t: number): number {
  if (t !== t) return Infinity;
  let f = Math.fround(t);
  if (f < t) {
    f32[0] = f;
    const b = u32[0]!;
    u32[0] = f === 0 ? 1 : f > 0 ? b + 1 : b - 1;
    f = f32[0]!;
  }
  f32[0] = f;
  return key32(u32[0]!);
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

/** Sortable 64-bit key of a float64 as two uint32 words. */
function key64(s: number, out: Uint32Array, i: number, outLo: Uint32Array): void {
  f64[0] = s === 0 ? 0 : s; // -0 → +0
  let hi = u64[HI]!;
  let lo = u64[LO]!;
  if (hi & 0x80000000) {
    hi = ~hi >>> 0;
    lo = ~lo >>> 0;
  } else {
    hi = (hi | 0x80000000) >>> 0;
  }
  out[i] = hi;
  outLo[i] = lo;
}

function scoreOfKey64(hi: number, lo: number): number {
  if (hi & 0x80000000) {
    u64[HI] = hi & 0x7fffffff;
    u64[LO] = lo;
  } else {
    u64[HI] = ~hi >>> 0;
    u64[LO] = ~lo >>> 0;
  }
  return f64[0]!;
}

const hist64 = new Int32Array(RADIX * 6);

/**
 * LSD radix sort of 64-bit keys held as (hi, lo) uint32 pairs in [start, start+n) of the scratch
 * arrays, 11-bit digits over 66 bits (6 passes; constant digits skipped). Result in hiOut/loOut.
 */
function radixSort64(hi: Uint32Array, lo: Uint32Array, hiTmp: Uint32Array, loTmp: Uint32Array, n: number): [Uint32Array, Uint32Array] {
  hist64.fill(0);
  for (let i = 0; i < n; i++) {
    const h = hi[i]!;
    const l = lo[i]!;
    hist64[l & MASK]!++;
    hist64[RADIX + ((l >>> 11) & MASK)]!++;
    hist64[2 * RADIX + ((l >>> 22) | ((h & 1) << 10))]!++;
    hist64[3 * RADIX + ((h >>> 1) & MASK)]!++;
    hist64[4 * RADIX + ((h >>> 12) & MASK)]!++;
    hist64[5 * RADIX + (h >>> 23)]!++;
  }
  let sh = hi;
  let sl = lo;
  let dh = hiTmp;
  let dl = loTmp;
  for (let q = 0; q < 6; q++) {
    const off = q * RADIX;
    let sum = 0;
    let skip = false;
    for (let b = 0; b < RADIX; b++) {
      const c = hist64[off + b]!;
      if (c === n) {
        skip = true;
        break;
      }
      hist64[off + b] = sum;
      sum += c;
    }
    if (skip) continue;
    for (let i = 0; i < n; i++) {
      const h = sh[i]!;
      const l = sl[i]!;
      const d = q === 0 ? l & MASK : q === 1 ? (l >>> 11) & MASK : q === 2 ? (l >>> 22) | ((h & 1) << 10) : q === 3 ? (h >>> 1) & MASK : q === 4 ? (h >>> 12) & MASK : h >>> 23;
      const at = hist64[off + d]++;
      dh[at] = h;
      dl[at] = l;
    }
    let t = sh;
    sh = dh;
    dh = t;
    t = sl;
    sl = dl;
    dl = t;
  }
  return [sh, sl];
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
