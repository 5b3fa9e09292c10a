/**
 * Sortable integer keys of floating-point scores, and the LSD radix sorts (O(n)) that order them.
 * A key's unsigned order is the order of the values it stands for (-0 read as +0):
 * - key32: a float32's bits, the sign bit flipped for values >= 0 and all bits for values < 0;
 * - key64: the same for a float64, as a (high, low) pair of uint32 words.
 * The sorts keep their histograms here; the keys and the buffer they alternate with are the caller's.
 */

const f64 = new Float64Array(1);
const u64 = new Uint32Array(f64.buffer);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// Index of the high 32-bit word of a float64 (little-endian on every platform Node supports).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** Sortable unsigned key of a float32's bits: order of keys = order of values (-0 read as +0). */
export function key32(bits: number): number {
  if (bits === 0x80000000) return 0x80000000; // -0 → +0
  return bits & 0x80000000 ? ~bits >>> 0 : (bits | 0x80000000) >>> 0;
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

/** Sortable 64-bit key of a float64 as two uint32 words: the high one to out[i], the low one to outLo[i]. */
export function key64(s: number, out: Uint32Array, i: number, outLo: Uint32Array): void {
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

/** The float64 whose key64 is (hi, lo). */
export function scoreOfKey64(hi: number, lo: number): number {
  if (hi & 0x80000000) {
    u64[HI] = hi & 0x7fffffff;
    u64[LO] = lo;
  } else {
    u64[HI] = ~hi >>> 0;
    u64[LO] = ~lo >>> 0;
  }
  return f64[0]!;
}

const MAX_BITS = 14;
const hist = new Int32Array(3 << MAX_BITS);

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

const MASK = (1 << 11) - 1;
const RADIX = 1 << 11;
const hist64 = new Int32Array(RADIX * 6);

/**
 * LSD radix sort of n 64-bit keys held as (hi, lo) uint32 pairs, 11-bit digits over 66 bits
 * (6 passes; constant digits skipped), ascending. Sorts hi/lo using hiTmp/loTmp; returns whichever
 * pair holds the result.
 */
export function radixSort64(hi: Uint32Array, lo: Uint32Array, hiTmp: Uint32Array, loTmp: Uint32Array, n: number): [Uint32Array, Uint32Array] {
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
