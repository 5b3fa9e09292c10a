/**
 * Images: decode (JPEG, PNG including 16-bit greyscale, and whatever else sharp reads), crop (centre,
 * lung field), resize to D×D (stretch or letterbox), intensity (windowing, unsharp mask, Gaussian blur,
 * histogram equalisation), then 8-bit pixels ready for augmentation.
 *
 * Decoding: JPEGs go through libjpeg-turbo directly (the optional @julusian/jpeg-turbo binding: one
 * synchronous call, no thread hand-offs, ~4x less CPU than a sharp pipeline per small image); very
 * large JPEGs and every other format go through sharp, which shrinks large JPEGs while decoding.
 * Resizing, cropping and intensity transforms run here in JavaScript on float pixels, so 16-bit
 * images keep their depth until the window maps them to [0, 255], and every decoder gives the
 * same pixels the same treatment.
 */
import { createRequire } from 'node:module';
import sharp from 'sharp';
import { MedtrainError } from '../util/errors.js';

export type PixelArray = Uint8Array | Uint16Array | Float32Array;

/** Decoded pixels, interleaved channels (1 grey or 3 RGB), 8 or 16 bits per sample. */
export interface RawImage {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  channels: 1 | 3;
  depth: 8 | 16;
}

/** A decode failure: the file is truncated, corrupt or not an image. */
export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageDecodeError';
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface TurboBinding {
  FORMAT_GRAY: number;
  FORMAT_RGB: number;
  decompressSync(image: Buffer, options?: { format: number }): { data: Buffer; width: number; height: number };
}

let turbo: TurboBinding | null | undefined;

/** The libjpeg-turbo binding, or null where it is not installed (sharp decodes JPEGs then). */
function jpegTurbo(): TurboBinding | null {
  if (turbo === undefined) {
    try {
      turbo = createRequire(import.meta.url)('@julusian/jpeg-turbo') as TurboBinding;
    } catch {
      turbo = null;
    }
  }
  return turbo;
}

/** Which decoder JPEGs use on this machine. */
export function jpegDecoder(): 'libjpeg-turbo' | 'sharp' {
  return jpegTurbo() ? 'libjpeg-turbo' : 'sharp';
}

/** Size and component count from a JPEG's SOF marker, or null when the header cannot be read. */
export function jpegHeader(buf: Uint8Array): { width: number; height: number; components: number } | null {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) return null;
  let i = 2;
  while (i + 3 < buf.length) {
    if (buf[i] !== 0xff) return null;
    const m = buf[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2;
      continue;
    }
    if (m === 0xd9 || m === 0xda) return null;
    const len = (buf[i + 2]! << 8) | buf[i + 3]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (i + 9 >= buf.length) return null;
      return { height: (buf[i + 5]! << 8) | buf[i + 6]!, width: (buf[i + 7]! << 8) | buf[i + 8]!, components: buf[i + 9]! };
    }
    i += 2 + len;
  }
  return null;
}

export interface DecodeOptions {
  /**
   * The size the image will be resized to. An image at least 4x larger on its short side is
   * shrunk (by an integer factor, to about twice this) while decoding, which is much faster for
   * full-size radiographs and loses nothing the final resize would keep.
   */
  target?: number;
}

/** Decode an encoded image. Throws ImageDecodeError for truncated, corrupt or unknown data. */
export async function decodeImage(buf: Buffer, opts: DecodeOptions = {}): Promise<RawImage> {
  if (buf.length === 0) throw new ImageDecodeError('empty file');
  const t = jpegTurbo();
  const head = jpegHeader(buf);
  if (t && head && (head.components === 1 || head.components === 3)) {
    const big = opts.target !== undefined && Math.min(head.width, head.height) >= 4 * opts.target;
    if (!big) {
      try {
        const grey = head.components === 1;
        const r = t.decompressSync(buf, { format: grey ? t.FORMAT_GRAY : t.FORMAT_RGB });
        return { data: new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length), width: r.width, height: r.height, channels: grey ? 1 : 3, depth: 8 };
      } catch {
        // libjpeg-turbo refuses truncated data; sharp gives the precise reason below.
      }
    }
  }
  return decodeWithSharp(buf, opts.target);
}

async function decodeWithSharp(buf: Buffer, target?: number): Promise<RawImage> {
  try {
    const meta = await sharp(buf, { failOn: 'warning' }).metadata();
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (!width || !height) throw new ImageDecodeError('image has no size');
    const deep = meta.depth === 'ushort' || meta.depth === 'short';
    const grey = (meta.channels ?? 3) <= 2 || meta.space === 'b-w' || meta.space === 'grey16';
    let img = sharp(buf, { failOn: 'warning', limitInputPixels: false });
    if (target !== undefined && Math.min(width, height) >= 4 * target) {
      const k = Math.floor(Math.min(width, height) / (2 * target));
      img = img.resize(Math.max(1, Math.round(width / k)), Math.max(1, Math.round(height / k)), { fit: 'fill', kernel: 'linear' });
    }
    img = img.removeAlpha().toColourspace(grey ? (deep ? 'grey16' : 'b-w') : deep ? 'rgb16' : 'srgb');
    const { data, info } = await img.raw({ depth: deep ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const channels = grey ? 1 : 3;
    if (info.channels !== channels) throw new ImageDecodeError(`decoded ${info.channels} channels, expected ${channels}`);
    let pixels: Uint8Array | Uint16Array;
    if (deep) {
      const copy = new Uint8Array(data.length);
      copy.set(data);
      pixels = new Uint16Array(copy.buffer, 0, data.length / 2);
    } else {
      pixels = new Uint8Array(data.buffer, data.byteOffset, data.length);
    }
    return { data: pixels, width: info.width, height: info.height, channels, depth: deep ? 16 : 8 };
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    const msg = (e as Error).message.split('\n')[0]!.trim();
    throw new ImageDecodeError(/unsupported image format/i.test(msg) ? 'not an image (unknown format)' : `cannot decode: ${msg}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Resampling

/**
 * Separable antialiased resampling (triangle filter widened by the reduction factor, as Pillow's
 * bilinear resize), reading the box [x, x+w) × [y, y+h) of an interleaved image of c channels.
 */
export function resample(src: PixelArray, width: number, height: number, c: number, box: Box, outW: number, outH: number): Float32Array {
  const cx = axisCoefficients(box.x, box.w, width, outW);
  const cy = axisCoefficients(box.y, box.h, height, outH);
  const xs = cx.start, xn = cx.count, xw = cx.weights, xt = cx.taps;
  const r0 = cy.first;
  const rows = cy.last - r0;
  const line = outW * c;
  // Horizontal pass over the rows the vertical pass needs.
  const tmp = new Float32Array(rows * line);
  for (let r = 0; r < rows; r++) {
    const rowOff = (r0 + r) * width * c;
    const tOff = r * line;
    if (c === 1) {
      for (let o = 0; o < outW; o++) {
        const s = rowOff + xs[o]!;
        const n = xn[o]!;
        const wo = o * xt;
        let acc = 0;
        for (let k = 0; k < n; k++) acc += xw[wo + k]! * src[s + k]!;
        tmp[tOff + o] = acc;
      }
    } else {
      for (let o = 0; o < outW; o++) {
        const n = xn[o]!;
        const wo = o * xt;
        for (let ch = 0; ch < c; ch++) {
          const s = rowOff + xs[o]! * c + ch;
          let acc = 0;
          for (let k = 0; k < n; k++) acc += xw[wo + k]! * src[s + k * c]!;
          tmp[tOff + o * c + ch] = acc;
        }
      }
    }
  }
  // Vertical pass.
  const ys = cy.start, yn = cy.count, yw = cy.weights, yt = cy.taps;
  const out = new Float32Array(line * outH);
  for (let o = 0; o < outH; o++) {
    const n = yn[o]!;
    const wo = o * yt;
    const dst = o * line;
    const s0 = ys[o]! - r0;
    for (let k = 0; k < n; k++) {
      const w = yw[wo + k]!;
      const so = (s0 + k) * line;
      for (let i = 0; i < line; i++) out[dst + i] += w * tmp[so + i]!;
    }
  }
  return out;
}

interface AxisCoefficients {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  taps: number;
  first: number;
  last: number;
}

function axisCoefficients(inStart: number, inLen: number, inMax: number, outLen: number): AxisCoefficients {
  const scale = inLen / outLen;
  const fscale = Math.max(scale, 1);
  const support = fscale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float64Array(outLen * taps);
  let first = inMax;
  let last = 0;
  for (let o = 0; o < outLen; o++) {
    const center = inStart + (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inMax, Math.ceil(center + support));
    let total = 0;
    let n = 0;
    for (let j = lo; j < hi && n < taps; j++, n++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - center) / fscale));
      weights[o * taps + n] = w;
      total += w;
    }
    if (total === 0) {
      // The centre fell outside the image: take the nearest pixel.
      const j = Math.min(inMax - 1, Math.max(0, Math.floor(center)));
      start[o] = j;
      count[o] = 1;
      weights[o * taps] = 1;
    } else {
      for (let k = 0; k < n; k++) weights[o * taps + k] = weights[o * taps + k]! / total;
      start[o] = lo;
      count[o] = n;
    }
    first = Math.min(first, start[o]!);
    last = Math.max(last, start[o]! + count[o]!);
  }
  return { start, count, weights, taps, first, last };
}

// ---------------------------------------------------------------------------------------------
// Crops

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The largest centred square. */
export function centreSquare(width: number, height: number): Box {
  const s = Math.min(width, height);
  return { x: Math.floor((width - s) / 2), y: Math.floor((height - s) / 2), w: s, h: s };
}

/** Grey float pixels (luma for RGB) of a raw image. */
function toGreyFloat(img: { data: PixelArray; width: number; height: number; channels: number }): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = img.data[i]!;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = 0.299 * img.data[j]! + 0.587 * img.data[j + 1]! + 0.114 * img.data[j + 2]!;
  }
  return out;
}

const THUMB = 64;

/**
 * The lung field of a frontal chest radiograph: on a 64×64 thumbnail, pixels darker than Otsu's
 * threshold that are not connected to the border (air outside the body is) form the candidate lung
 * regions; the two largest, if together plausible in size and extent, give the box, widened by a
 * margin. Returns null when nothing plausible is found (the caller then keeps the whole image).
 */
export function lungFieldBox(img: { data: PixelArray; width: number; height: number; channels: number }): Box | null {
  const grey = toGreyFloat(img);
  const t = resample(grey, img.width, img.height, 1, { x: 0, y: 0, w: img.width, h: img.height }, THUMB, THUMB);
  const sorted = Float32Array.from(t).sort();
  const lo = sorted[Math.floor(0.01 * sorted.length)]!;
  const hi = sorted[Math.floor(0.99 * sorted.length)]!;
  if (hi - lo < 1e-6) return null;
  const level = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) level[i] = Math.max(0, Math.min(255, Math.round(((t[i]! - lo) / (hi - lo)) * 255)));
  const threshold = otsu(level);
  const n = THUMB * THUMB;
  // 0 = bright, 1 = dark unvisited, 2 = outside (dark and connected to the border), 3+ = component ids
  const mark = new Int32Array(n);
  for (let i = 0; i < n; i++) mark[i] = level[i]! <= threshold ? 1 : 0;
  const stack = new Int32Array(n);
  const fill = (seed: number, id: number): { area: number; x0: number; y0: number; x1: number; y1: number } => {
    let sp = 0;
    stack[sp++] = seed;
    mark[seed] = id;
    let area = 0, x0 = THUMB, y0 = THUMB, x1 = -1, y1 = -1;
    while (sp > 0) {
      const p = stack[--sp]!;
      const x = p % THUMB;
      const y = (p - x) / THUMB;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x > 0 && mark[p - 1] === 1) { mark[p - 1] = id; stack[sp++] = p - 1; }
      if (x < THUMB - 1 && mark[p + 1] === 1) { mark[p + 1] = id; stack[sp++] = p + 1; }
      if (y > 0 && mark[p - THUMB] === 1) { mark[p - THUMB] = id; stack[sp++] = p - THUMB; }
      if (y < THUMB - 1 && mark[p + THUMB] === 1) { mark[p + THUMB] = id; stack[sp++] = p + THUMB; }
    }
    return { area, x0, y0, x1, y1 };
  };
  for (let i = 0; i < THUMB; i++) {
    for (const p of [i, (THUMB - 1) * THUMB + i, i * THUMB, i * THUMB + THUMB - 1]) if (mark[p] === 1) fill(p, 2);
  }
  const parts: { area: number; x0: number; y0: number; x1: number; y1: number }[] = [];
  let id = 3;
  for (let p = 0; p < n; p++) if (mark[p] === 1) parts.push(fill(p, id++));
  parts.sort((a, b) => b.area - a.area);
  const lungs = parts.filter((q) => q.area >= 0.015 * n).slice(0, 2);
  if (lungs.length === 0) return null;
  const area = lungs.reduce((s, q) => s + q.area, 0);
  const x0 = Math.min(...lungs.map((q) => q.x0));
  const x1 = Math.max(...lungs.map((q) => q.x1)) + 1;
  const y0 = Math.min(...lungs.map((q) => q.y0));
  const y1 = Math.max(...lungs.map((q) => q.y1)) + 1;
  if (area < 0.08 * n || x1 - x0 < 0.3 * THUMB || y1 - y0 < 0.25 * THUMB) return null;
  const mx = 0.05 * THUMB;
  const my = 0.05 * THUMB;
  const bx0 = Math.max(0, x0 - mx), bx1 = Math.min(THUMB, x1 + mx);
  const by0 = Math.max(0, y0 - my), by1 = Math.min(THUMB, y1 + my);
  const sx = img.width / THUMB;
  const sy = img.height / THUMB;
  const x = Math.floor(bx0 * sx);
  const y = Math.floor(by0 * sy);
  return { x, y, w: Math.min(img.width, Math.ceil(bx1 * sx)) - x, h: Math.min(img.height, Math.ceil(by1 * sy)) - y };
}

/** Otsu's threshold of 8-bit levels: the level that maximises the between-class variance. */
export function otsu(levels: Uint8Array): number {
  const hist = new Float64Array(256);
  for (let i = 0; i < levels.length; i++) hist[levels[i]!]!++;
  const total = levels.length;
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let wB = 0, sumB = 0, best = 0, bestVar = -1;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const v = wB * wF * (mB - mF) * (mB - mF);
    if (v > bestVar) {
      bestVar = v;
      best = t;
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Intensity

/** How raw values map to [0, 255]: 8-bit images keep theirs; 16-bit ones by default stretch min..max. */
export type WindowSpec = 'auto' | 'minmax' | 'full' | { center: number; width: number };

/** The same shapes as the Benchmark's transforms (src/training/benchmark.ts); blur's sigma defaults to 1. */
export type IntensityTransform =
  | { kind: 'sharp'; radius: number; amount: number }
  | { kind: 'blur'; sigma?: number }
  | { kind: 'hist' };

const TRANSFORM_HELP = 'sharp<r><a> (unsharp mask, radius r, amount a: sharp21), gb or gb<sigma> (Gaussian blur, sigma 1 by default), hist (histogram equalisation)';

/** Parse transforms as in benchmark names: `sharp21`, `gb`, `hist`, joined by `_` or `,`. */
export function parseTransforms(spec: string | readonly IntensityTransform[] | null | undefined): IntensityTransform[] {
  if (!spec) return [];
  if (typeof spec !== 'string') return spec.map((t) => (t.kind === 'blur' ? { kind: 'blur', sigma: t.sigma ?? 1 } : { ...t }));
  const out: IntensityTransform[] = [];
  for (const raw of spec.split(/[_,\s]+/).filter(Boolean)) {
    const tok = raw.toLowerCase();
    let m: RegExpExecArray | null;
    if ((m = /^sharp(\d)(\d+(?:\.\d+)?)$/.exec(tok))) out.push({ kind: 'sharp', radius: Number(m[1]), amount: Number(m[2]) });
    else if ((m = /^gb(\d+(?:\.\d+)?)?$/.exec(tok))) out.push({ kind: 'blur', sigma: m[1] ? Number(m[1]) : 1 });
    else if (tok === 'hist' || tok === 'histeq' || tok === 'he') out.push({ kind: 'hist' });
    else throw new MedtrainError('unknown intensity transform', { code: 'bad-transform', value: raw, hint: `use ${TRANSFORM_HELP}` });
  }
  return out;
}

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

// ---------------------------------------------------------------------------------------------
// The deterministic part of the pipeline (the part the on-disk cache keeps)

export type CropMode = 'none' | 'centre' | 'lung';
export type FitMode = 'stretch' | 'letterbox';

export interface ImageSettings {
  /** Square size the image is resized to (before augmentation and the final crop). */
  size: number;
  /** 'stretch' (as the reference) or 'letterbox' (keep the aspect ratio, pad with black). */
  fit: FitMode;
  /** Crop before resizing: 'centre' = the largest centred square; 'lung' = lung field of frontal views (C1). */
  crop: CropMode;
  /**
   * 'auto' keeps colour images in colour and grey ones (including RGB files whose three channels are
   * equal) as one channel until the batch; 'grey' turns colour into luma.
   */
  colour: 'auto' | 'grey';
  window: WindowSpec;
  transforms: IntensityTransform[];
}

export const DEFAULT_IMAGE_SETTINGS: Omit<ImageSettings, 'size'> = { fit: 'stretch', crop: 'none', colour: 'auto', window: 'auto', transforms: [] };

/**
 * An image after the deterministic steps, 8-bit, 1 or 3 channels. Either size×size (resized here:
 * with intensity transforms, letterboxing, or a crop more than twice the size on a side, where
 * resampling needs the antialiasing filter) or the crop at its own resolution, which the
 * augmentation warp then resizes in the same bilinear pass that rotates, shifts and crops.
 */
export interface PreparedImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
  /** True when a lung-field crop was asked for but nothing plausible was found (the whole image was kept). */
  cropFallback?: boolean;
}

/** Whether an image of this crop size is resized here (antialiased) or by the augmentation warp. */
export function resizedHere(s: ImageSettings, box: { w: number; h: number }): boolean {
  return s.transforms.length > 0 || s.fit === 'letterbox' || box.w > 2 * s.size || box.h > 2 * s.size;
}

/** Crop, resize (see PreparedImage), window and transform a decoded image. `view` decides whether the lung crop applies. */
export function prepareImage(raw: RawImage, s: ImageSettings, view?: string): PreparedImage {
  let img: { data: PixelArray; width: number; height: number; channels: 1 | 3 } = raw;
  if (raw.channels === 3) {
    if (s.colour === 'grey') img = { data: toGreyFloat(raw), width: raw.width, height: raw.height, channels: 1 };
    else if (equalChannels(raw.data)) img = { data: firstChannel(raw.data), width: raw.width, height: raw.height, channels: 1 };
  }
  const c = img.channels;
  let box: Box = { x: 0, y: 0, w: img.width, h: img.height };
  let cropFallback: boolean | undefined;
  if (s.crop === 'centre') box = centreSquare(img.width, img.height);
  else if (s.crop === 'lung' && view !== 'lateral') {
    const found = lungFieldBox(img);
    if (found) box = found;
    else cropFallback = true;
  }
  const flag = cropFallback ? { cropFallback } : {};
  if (!resizedHere(s, box)) {
    const identity = raw.depth === 8 && (s.window === 'auto' || s.window === 'full');
    if (identity && img.data instanceof Uint8Array && box.w === img.width && box.h === img.height) {
      return { data: img.data, width: box.w, height: box.h, channels: c, ...flag };
    }
    const px = new Float32Array(box.w * box.h * c);
    for (let y = 0; y < box.h; y++) {
      const from = ((box.y + y) * img.width + box.x) * c;
      for (let i = 0; i < box.w * c; i++) px[y * box.w * c + i] = img.data[from + i]!;
    }
    applyWindow(px, raw.depth, s.window);
    return { data: quantize(px), width: box.w, height: box.h, channels: c, ...flag };
  }
  const size = s.size;
  let px: Float32Array;
  if (s.fit === 'letterbox') {
    const k = size / Math.max(box.w, box.h);
    const tw = Math.max(1, Math.round(box.w * k));
    const th = Math.max(1, Math.round(box.h * k));
    const inner = resample(img.data, img.width, img.height, c, box, tw, th);
    applyWindow(inner, raw.depth, s.window);
    px = new Float32Array(size * size * c);
    const ox = Math.floor((size - tw) / 2);
    const oy = Math.floor((size - th) / 2);
    for (let y = 0; y < th; y++) px.set(inner.subarray(y * tw * c, (y + 1) * tw * c), ((oy + y) * size + ox) * c);
  } else {
    px = resample(img.data, img.width, img.height, c, box, size, size);
    applyWindow(px, raw.depth, s.window);
  }
  for (const t of s.transforms) {
    if (t.kind === 'sharp') unsharpMask(px, size, size, c, t.radius, t.amount);
    else if (t.kind === 'blur') gaussianBlur(px, size, size, c, t.sigma ?? 1);
    else equalizeHistogram(px, c);
  }
  return { data: quantize(px), width: size, height: size, channels: c, ...flag };
}

/** Whether every pixel of an RGB image has R = G = B (a grey image stored in colour). */
function equalChannels(d: Uint8Array | Uint16Array): boolean {
  for (let i = 0; i < d.length; i += 3) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

function firstChannel<T extends Uint8Array | Uint16Array>(d: T): T {
  const out = (d instanceof Uint8Array ? new Uint8Array(d.length / 3) : new Uint16Array(d.length / 3)) as T;
  for (let i = 0, j = 0; j < out.length; i += 3, j++) out[j] = d[i]!;
  return out;
}

/** Round and clamp to 8 bits. */
function quantize(px: Float32Array): Uint8Array {
  const data = new Uint8Array(px.length);
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! + 0.5;
    data[i] = v >= 255 ? 255 : v <= 0 ? 0 : v; // truncation of v rounds px
  }
  return data;
}
