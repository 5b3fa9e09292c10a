/**
 * Intensity: the window that maps raw values to [0, 255], the transforms that follow it (unsharp
 * mask, Gaussian blur, histogram equalisation), and the one grammar that names those transforms, in
 * image settings, generator options, benchmark names (`_sharp21`, `_gb2`, `_hist`) and the
 * `--transforms` flag. Pixels here are floats in [0, 255], interleaved with c channels.
 */
import { MedtrainError } from '../../util/errors.js';

// ---------------------------------------------------------------------------------------------
// The transform grammar

/** An intensity transform, applied after the window in list order. */
export type IntensityTransform = { kind: 'sharp'; radius: number; amount: number } | { kind: 'blur'; sigma: number } | { kind: 'hist' };

/** One line for messages and --help. */
export const TRANSFORM_SYNTAX =
  'sharp<r><a> (unsharp mask, radius r, amount a: sharp21), gb or gb<sigma> (Gaussian blur, sigma 1 unless given: gb2), hist (histogram equalisation)';

/** The words histogram equalisation answers to. */
const HIST_WORDS = new Set(['hist', 'histeq', 'he']);

/** A positive decimal as tokens write it (2, 1.5, .5, and the exponent form String() gives very small or large numbers). */
const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?`;
const SHARP = new RegExp(`^sharp(\\d)(${NUMBER})$`);
const BLUR = new RegExp(`^gb(${NUMBER})?$`);

/** Whether a lower-case token has a transform's shape (sharp…, gb…, hist, histeq, he), so a caller can tell "a bad transform" from "not a transform". */
export function isTransformToken(lower: string): boolean {
  return lower.startsWith('sharp') || lower.startsWith('gb') || HIST_WORDS.has(lower);
}

function badTransform(message: string, value: unknown, hint = `use ${TRANSFORM_SYNTAX}`): MedtrainError {
  return new MedtrainError(message, { code: 'bad-transform', value, hint });
}

const positive = (x: number): boolean => Number.isFinite(x) && x > 0;

/** What is wrong with a number that is not positive: 'must be above 0' or 'must be a finite number'. */
const notPositive = (x: number): string => (Number.isFinite(x) ? 'must be above 0' : 'must be a finite number');

/**
 * One token (case-insensitive): sharp<r><a> (r one digit 1-9, amount a number: sharp21 = radius 2
 * amount 1, sharp2.5 = radius 2 amount 0.5), gb (sigma 1) or gb<sigma> (gb2, gb1.5), hist/histeq/he.
 * Near misses get a message that says what is wrong (code 'bad-transform').
 */
export function parseTransform(token: string): IntensityTransform {
  const t = token.trim().toLowerCase();
  let m: RegExpExecArray | null;
  if ((m = SHARP.exec(t))) {
    const radius = Number(m[1]);
    const amount = Number(m[2]);
    if (radius < 1) throw badTransform('sharp radius must be a digit 1-9, as sharp21', token);
    if (!positive(amount)) throw badTransform(`sharp amount ${notPositive(amount)}`, token);
    return { kind: 'sharp', radius, amount };
  }
  if ((m = BLUR.exec(t))) {
    const sigma = m[1] === undefined ? 1 : Number(m[1]);
    if (!positive(sigma)) throw badTransform(`blur sigma ${notPositive(sigma)}`, token);
    return { kind: 'blur', sigma };
  }
  if (HIST_WORDS.has(t)) return { kind: 'hist' };
  throw badTransform(nearMiss(t), token);
}

/** What is wrong with a token that is no transform: the closest form it seems to mean, if any. */
function nearMiss(t: string): string {
  if (t.startsWith('sharp')) return 'sharp needs a radius digit and an amount, as sharp21';
  if (t.startsWith('gb-')) return 'blur sigma must be above 0';
  if (t.startsWith('gb')) return 'gb takes a sigma number or nothing, as gb, gb2 or gb1.5';
  if (/^(?:blur|gauss)/.test(t)) return 'Gaussian blur is written gb or gb<sigma>, as gb2';
  if (/^(?:unsharp|usm)/.test(t)) return 'unsharp mask is written sharp<r><a>, as sharp21';
  if (/^(?:hist|equali[sz])/.test(t)) return 'histogram equalisation is written hist';
  return 'unknown intensity transform';
}

/** The canonical token: sharp${radius}${amount}, 'gb' when sigma is 1 else `gb${sigma}`, 'hist'. parseTransform(transformToken(t)) deep-equals t for every valid t. */
export function transformToken(t: IntensityTransform): string {
  if (t.kind === 'sharp') return `sharp${t.radius}${t.amount}`;
  if (t.kind === 'blur') return t.sigma === 1 ? 'gb' : `gb${t.sigma}`;
  return 'hist';
}

const OBJECT_HINT = "use {kind: 'sharp', radius: 1-9, amount: > 0}, {kind: 'blur', sigma?: > 0 (default 1)} or {kind: 'hist'}";

/** A transform object from JSON or code, checked and normalised (blur without sigma → sigma 1; radius integer 1-9; amount and sigma finite > 0); throws MedtrainError code 'bad-transform' naming the value. */
export function checkTransform(t: unknown): IntensityTransform {
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw badTransform('a transform must be an object with a kind', t, OBJECT_HINT);
  const o = t as Record<string, unknown>;
  switch (o.kind) {
    case 'sharp': {
      const { radius, amount } = o;
      if (typeof radius !== 'number' || !Number.isInteger(radius) || radius < 1 || radius > 9) throw badTransform('sharp radius must be an integer 1-9', t, OBJECT_HINT);
      if (typeof amount !== 'number' || !positive(amount)) throw badTransform('sharp amount must be a finite number above 0', t, OBJECT_HINT);
      return { kind: 'sharp', radius, amount };
    }
    case 'blur': {
      const sigma = o.sigma ?? 1;
      if (typeof sigma !== 'number' || !positive(sigma)) throw badTransform('blur sigma must be a finite number above 0', t, OBJECT_HINT);
      return { kind: 'blur', sigma };
    }
    case 'hist':
      return { kind: 'hist' };
    default:
      throw badTransform('unknown transform kind', t, OBJECT_HINT);
  }
}

/**
 * A list: a string of tokens joined by '_', ',' or spaces ('none' or '' = []), or an array of
 * objects/tokens. A kind named twice is an error (code 'bad-transform', 'transform named twice').
 */
export function parseTransforms(spec: string | readonly (IntensityTransform | string)[] | null | undefined): IntensityTransform[] {
  if (spec === null || spec === undefined) return [];
  let items: readonly unknown[];
  if (typeof spec === 'string') {
    const s = spec.trim();
    items = s.toLowerCase() === 'none' ? [] : s.split(/[_,\s]+/).filter(Boolean);
  } else if (Array.isArray(spec)) {
    items = spec;
  } else {
    throw badTransform('transforms must be a string of tokens or a list', spec);
  }
  const out: IntensityTransform[] = [];
  for (const item of items) {
    const t = typeof item === 'string' ? parseTransform(item) : checkTransform(item);
    if (out.some((x) => x.kind === t.kind)) throw badTransform('transform named twice', typeof item === 'string' ? item : transformToken(t), `name each of sharp, gb and hist at most once; ${TRANSFORM_SYNTAX}`);
    out.push(t);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pixels

/** How raw values map to [0, 255]: 8-bit images keep theirs; 16-bit ones by default stretch min..max. */
export type WindowSpec = 'auto' | 'minmax' | 'full' | { center: number; width: number };

/** Map raw values (any depth) to [0, 255] in place. */
export function applyWindow(x: Float32Array, depth: 8 | 16, spec: WindowSpec): void {
  let lo: number, hi: number;
  if (typeof spec === 'object') {
    lo = spec.center - spec.width / 2;
    hi = spec.center + spec.width / 2;
  } else if (spec === 'minmax' || (spec === 'auto' && depth === 16)) {
    lo = Infinity;
    hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (!(hi > lo)) hi = lo + 1;
  } else {
    lo = 0;
    hi = depth === 16 ? 65535 : 255;
  }
  if (lo === 0 && hi === 255) return;
  const k = 255 / (hi - lo);
  for (let i = 0; i < x.length; i++) x[i] = Math.min(255, Math.max(0, (x[i]! - lo) * k));
}

/** Gaussian blur in place (separable, edges clamped). */
export function gaussianBlur(x: Float32Array, w: number, h: number, c: number, sigma: number): void {
  if (sigma <= 0) return;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let total = 0;
  for (let i = -r; i <= r; i++) total += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / total;
  const tmp = new Float32Array(x.length);
  convolveAxis(x, tmp, w, h, c, k, true);
  convolveAxis(tmp, x, w, h, c, k, false);
}

/** Convolve every row (horizontal) or column with an odd kernel, edges clamped. */
function convolveAxis(src: Float32Array, dst: Float32Array, w: number, h: number, c: number, k: Float32Array, horizontal: boolean): void {
  const r = (k.length - 1) / 2;
  const n = horizontal ? w : h;
  const step = horizontal ? c : w * c;
  for (let y = 0; y < h; y++) {
    for (let xx = 0; xx < w; xx++) {
      const pos = horizontal ? xx : y;
      for (let ch = 0; ch < c; ch++) {
        const at = (y * w + xx) * c + ch;
        const base = at - pos * step;
        let acc = 0;
        for (let i = -r; i <= r; i++) acc += k[i + r]! * src[base + Math.min(n - 1, Math.max(0, pos + i)) * step]!;
        dst[at] = acc;
      }
    }
  }
}

/** Unsharp mask in place: x + amount·(x − blur_radius(x)), clamped to [0, 255]. */
export function unsharpMask(x: Float32Array, w: number, h: number, c: number, radius: number, amount: number): void {
  const blurred = Float32Array.from(x);
  gaussianBlur(blurred, w, h, c, radius);
  for (let i = 0; i < x.length; i++) x[i] = Math.min(255, Math.max(0, x[i]! + amount * (x[i]! - blurred[i]!)));
}

const HIST_BINS = 4096;

/** Histogram equalisation in place, per channel, on values in [0, 255] (4096 bins, so 16-bit detail counts). */
export function equalizeHistogram(x: Float32Array, c: number): void {
  const n = x.length / c;
  for (let ch = 0; ch < c; ch++) {
    const hist = new Float64Array(HIST_BINS);
    for (let i = ch; i < x.length; i += c) hist[Math.min(HIST_BINS - 1, Math.floor((x[i]! * HIST_BINS) / 256))]!++;
    let acc = 0;
    let cdfMin = -1;
    const cdf = new Float64Array(HIST_BINS);
    for (let b = 0; b < HIST_BINS; b++) {
      acc += hist[b]!;
      cdf[b] = acc;
      if (cdfMin < 0 && acc > 0) cdfMin = acc;
    }
    const denom = n - cdfMin;
    if (denom <= 0) continue;
    for (let i = ch; i < x.length; i += c) {
      const b = Math.min(HIST_BINS - 1, Math.floor((x[i]! * HIST_BINS) / 256));
      x[i] = (255 * (cdf[b]! - cdfMin)) / denom;
    }
  }
}
