/**
 * The fast path of `summarizeColumns` (columns.ts) for float32 scores, in pieces that one thread or
 * two (columns-helper.ts) run over the same scratch: a row-major sweep writes each class's packed
 * keys (float32 bits << 1 | label) side by side, then each class is radix-sorted (radix.ts) and
 * walked (walk.ts). The scratch lives in shared memory so that a helper thread can work on it too.
 */
import { radixSort32, thresholdKey } from './radix.js';
import type { Numbers } from './types.js';
import { WALK_FIELDS, walkPacked } from './walk.js';

/** Per class in `stats`: labelled count, lowest and highest key, non-binary labels, odd (1: general path), threshold key. */
export const STATS = 6;
/** Key offset of packed float32 bits >= 0 (key32(bits) = bits + 2^31). */
const NONNEG_MIN_KEY = 0x80000000;

export type LabelArray = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Int32Array | Uint16Array | Uint32Array;
export type LabelType = 'Float32Array' | 'Float64Array' | 'Uint8Array' | 'Int8Array' | 'Int16Array' | 'Int32Array' | 'Uint16Array' | 'Uint32Array';
const LABEL_TYPES = { Float32Array, Float64Array, Uint8Array, Int8Array, Int16Array, Int32Array, Uint16Array, Uint32Array };

/** Scratch in shared memory; `scores` and `labels` (copies of the caller's matrix) only for two-thread calls. */
export interface Scratch {
  gen: number;
  keys: Uint32Array;
  stats: Float64Array;
  results: Float64Array;
  scores: Float32Array;
  labels: LabelArray;
}

let scratch: Scratch | null = null;
let generation = 0;
/** The buffer `rankClass` sorts with (one per thread). */
let tmp = new Uint32Array(0);

export function setThresholds(s: Scratch, thresholds: readonly number[], C: number): void {
  for (let c = 0; c < C; c++) s.stats[c * STATS + 5] = thresholdKey(thresholds[c]!);
}

/**
 * One row-major pass over classes [a, b): each one's labelled cases as packed keys at
 * keys[c * rows ...]; then each class's lowest and highest key, in a loop of its own so that the
 * sweep's inner loop stays as small as it is (its speed depends on that).
 */
export function sweep(bits: Uint32Array, labels: Numbers, rowsIn: number, classes: number, a: number, b: number, keys: Uint32Array, stats: Float64Array): void {
  const rows = rowsIn | 0; // integer arithmetic for the indices below
  const C = classes | 0;
  const at = new Int32Array(C);
  const nonBinary = new Int32Array(C);
  const odd = new Uint8Array(C);
  for (let c = a; c < b; c++) at[c] = c * rows;
  for (let i = 0, row = 0; i < rows; i++, row += C) {
    for (let c = a, j = row + a; c < b; c++, j++) {
      const y = labels[j]!;
      let pos = y;
      if (y !== 0 && y !== 1) {
        if (!(y >= 0)) continue; // masked
        pos = y >= 0.5 ? 1 : 0;
        nonBinary[c]!++;
      }
      const x = bits[j]!;
      if (x > 0x7f800000) odd[c] = 1;
      keys[at[c]!++] = (x << 1) | pos;
    }
  }
  for (let c = a; c < b; c++) {
    const st = c * STATS;
    stats[st] = at[c]! - c * rows;
    keyRange(keys, c * rows, at[c]!, stats, st);
    stats[st + 3] = nonBinary[c]!;
    stats[st + 4] = odd[c]!;
  }
}

function keyRange(keys: Uint32Array, start: number, end: number, stats: Float64Array, st: number): void {
  let lo = 0xffffffff;
  let hi = 0;
  for (let i = start; i < end; i++) {
    const x = keys[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  stats[st + 1] = lo;
  stats[st + 2] = hi;
}

/** Sort and walk one class, results to `results`. */
export function rankClass(s: Scratch, rows: number, c: number): void {
  // Integers out of the float64 stats (V8 then keeps the loops below in integer arithmetic).
  const st = c * STATS;
  const start = (c * rows) | 0;
  const m = s.stats[st]! | 0;
  if (tmp.length < m) tmp = new Uint32Array(Math.max(m, tmp.length * 2));
  const sorted = m > 0 ? radixSort32(s.keys.subarray(start, start + m), tmp, m, s.stats[st + 1]! >>> 0, s.stats[st + 2]! >>> 0) : s.keys;
  walkPacked(sorted, m, NONNEG_MIN_KEY, s.stats[st + 5]!, s.results, c * WALK_FIELDS);
}

/** The typed-array type the shared copy of `labels` takes (the same, or Float64Array for plain arrays). */
export function sharedLabelType(labels: Numbers): LabelType {
  const name = (labels as { constructor?: { name?: string } }).constructor?.name;
  return name && name in LABEL_TYPES ? (name as LabelType) : 'Float64Array';
}

/** Shared scratch for `elements` keys and `C` classes (with room for a copy of the matrix when labelType is given); new buffers get a new generation. */
export function scratchFor(elements: number, C: number, labelType: LabelType | null): Scratch {
  const s = scratch;
  const copyNeeded = labelType ? elements : 0;
  if (
    !s ||
    s.keys.length < elements ||
    s.stats.length < C * STATS ||
    s.results.length < C * WALK_FIELDS ||
    s.scores.length < copyNeeded ||
    (labelType && (s.labels.length < elements || s.labels.constructor.name !== labelType))
  ) {
    const size = (need: number, have: number | undefined) => Math.max(need, have ?? 0);
    const labelsLength = labelType ? size(elements, s?.labels.constructor.name === labelType ? s.labels.length : 0) : 0;
    scratch = {
      gen: ++generation,
      keys: new Uint32Array(new SharedArrayBuffer(4 * size(elements, s?.keys.length))),
      stats: new Float64Array(new SharedArrayBuffer(8 * size(C * STATS, s?.stats.length))),
      results: new Float64Array(new SharedArrayBuffer(8 * size(C * WALK_FIELDS, s?.results.length))),
      scores: new Float32Array(new SharedArrayBuffer(4 * size(copyNeeded, s?.scores.length))),
      labels: labelView(labelType ?? 'Uint8Array', labelsLength),
    };
  }
  return scratch!;
}

/** Let go of the scratch: the next call gets new buffers (a helper that is late must not write into buffers still in use). */
export function dropScratch(): void {
  scratch = null;
}

/** A shared typed array of `type`: a new one of `size` elements, or a view of `buffer`. */
export function labelView(type: LabelType, size: number | SharedArrayBuffer): LabelArray {
  const Labels = LABEL_TYPES[type] as unknown as new (b: SharedArrayBuffer) => LabelArray;
  return new Labels(typeof size === 'number' ? new SharedArrayBuffer(LABEL_TYPES[type].BYTES_PER_ELEMENT * size) : size);
}
