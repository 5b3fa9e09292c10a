/**
 * Seeded training augmentations, rendered in one pass from the prepared D'×D' image to the D×D
 * model input: crop (centre, or random with `crop`), horizontal flip (off by default: laterality
 * matters in chest X-rays), affine (rotation, translation, scale, shear, bilinear, constant fill) and
 * colour (brightness, contrast, gamma, as a 256-entry lookup table on the source levels).
 *
 * Every random number comes from the Rng given for the sample, drawn in a fixed order (crop, flip,
 * affine, colour), so the same seed gives the same pixels on any thread.
 */
import { MedtrainError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';

export interface AffineConfig {
  /** Maximum rotation in degrees (uniform in ±rotation). */
  rotation: number;
  /** Maximum translation as a fraction of the image side, per axis. */
  translate: number;
  /** Scale range [lo, hi]. */
  scale: [number, number];
  /** Maximum shear in degrees (x shear, uniform in ±shear). */
  shear: number;
  /** Fill value for pixels mapped from outside the image, on the 0–255 scale. */
  fill: number;
}

export interface ColorConfig {
  /** Brightness factor uniform in [1 − b, 1 + b]. */
  brightness: number;
  /** Contrast factor uniform in [1 − c, 1 + c] (blend with the image's mean grey level). */
  contrast: number;
  /** Gamma exponent uniform in [1 − g, 1 + g]. */
  gamma: number;
}

export interface AugmentConfig {
  affine?: AffineConfig;
  flip?: { probability: number };
  color?: ColorConfig;
  /** Crop position when the prepared image is larger than the model input: random instead of centre. */
  crop?: 'random';
}

/** The reference "affine" augmentation: rotation ±15°, translation 5%, scale 0.95–1.05, fill grey 128. */
export const DEFAULT_AFFINE: AffineConfig = { rotation: 15, translate: 0.05, scale: [0.95, 1.05], shear: 0, fill: 128 };
export const DEFAULT_COLOR: ColorConfig = { brightness: 0.1, contrast: 0.1, gamma: 0.1 };

/** The augmentations, in the order a pipeline draws them and a name lists them. */
export const AUGMENTATIONS = ['affine', 'flip', 'color', 'crop'] as const;
export type AugmentationName = (typeof AUGMENTATIONS)[number];

/** One line for messages and --help. */
export const AUGMENT_SYNTAX = 'none, or affine, flip, color (colour), crop (random crop) joined by "," (affine,color); in a name AugAffine, AugAffineColor, …, or NoAug';

/**
 * The one augmentation grammar: names from `affine,color`, `affine+flip`, a list of names, or the
 * name spellings `AugAffineColor` / `AffineColor` / `NoAug`; `none` or '' for none. Canonical order
 * (AUGMENTATIONS); a name twice is an error.
 */
export function parseAugmentations(spec: string | readonly string[] | null | undefined): AugmentationName[] {
  if (spec === null || spec === undefined) return [];
  const text = typeof spec === 'string' ? spec : spec.join(',');
  let rest = text.trim().toLowerCase();
  if (rest === '' || rest === 'none' || rest === 'noaug') return [];
  if (rest.startsWith('aug')) rest = rest.slice(3);
  const seen = new Set<AugmentationName>();
  for (const raw of rest.split(/[,+_\s]+/).filter(Boolean)) {
    let tok = raw;
    while (tok) {
      const m = /^(affine|colou?r|flip|hflip|crop)/.exec(tok);
      if (!m) throw new MedtrainError('unknown augmentation', { code: 'bad-augment', value: raw, hint: `use ${AUGMENT_SYNTAX}` });
      const name: AugmentationName = m[1]!.startsWith('colo') ? 'color' : m[1] === 'hflip' ? 'flip' : (m[1] as AugmentationName);
      if (seen.has(name)) throw new MedtrainError('augmentation named twice', { code: 'bad-augment', value: raw, hint: `use ${AUGMENT_SYNTAX}` });
      seen.add(name);
      tok = tok.slice(m[1]!.length);
    }
  }
  return AUGMENTATIONS.filter((a) => seen.has(a));
}

/** The name token of a list of augmentations: AugAffineColor, or NoAug for none. */
export function augmentationToken(names: readonly AugmentationName[]): string {
  return names.length ? `Aug${names.map((a) => a[0]!.toUpperCase() + a.slice(1)).join('')}` : 'NoAug';
}

/**
 * An augmentation pipeline: a config as is, or the names parseAugmentations reads, each with its
 * default settings (the reference "affine" and "color"; flip with probability 0.5; random crop).
 */
export function parseAugment(spec: string | readonly string[] | AugmentConfig | null | undefined): AugmentConfig | null {
  if (spec !== null && spec !== undefined && typeof spec !== 'string' && !Array.isArray(spec)) return Object.keys(spec).length ? (spec as AugmentConfig) : null;
  const names = parseAugmentations(spec as string | readonly string[] | null | undefined);
  if (!names.length) return null;
  const cfg: AugmentConfig = {};
  for (const name of names) {
    if (name === 'affine') cfg.affine = { ...DEFAULT_AFFINE };
    else if (name === 'color') cfg.color = { ...DEFAULT_COLOR };
    else if (name === 'crop') cfg.crop = 'random';
    else cfg.flip = { probability: 0.5 };
  }
  return cfg;
}

/**
 * Where each output pixel samples the resized image: q = (m0·i + m1·j + m2, m3·i + m4·j + m5) in
 * continuous coordinates of the size×size resized image (pixel k spans [k, k+1)), for output column
 * i and row j; plus the colour factors, if any.
 */
export interface SampleTransform {
  m: [number, number, number, number, number, number];
  fill: number;
  color: { brightness: number; contrast: number; gamma: number } | null;
}

/** Draw one sample's transform. `size` is the resized image's side, `dim` the model input's. */
export function drawTransform(cfg: AugmentConfig | null, rng: Rng | null, size: number, dim: number): SampleTransform {
  if (dim > size) throw new MedtrainError(`the model input (${dim}) is larger than the resized image (${size})`, { code: 'bad-size', hint: 'resize to at least the model input size' });
  const need = (): Rng => {
    if (!rng) throw new Error('drawTransform: augmentation needs an Rng');
    return rng;
  };
  let ox = Math.floor((size - dim) / 2);
  let oy = ox;
  if (cfg?.crop === 'random' && size > dim) {
    ox = need().int(size - dim + 1);
    oy = need().int(size - dim + 1);
  }
  const flip = cfg?.flip ? need().bernoulli(cfg.flip.probability) : false;
  // The inverse of the forward map p = c + t + M (q − c), M = s · Rot(θ) · Shear(φ).
  let mi = [1, 0, 0, 1];
  let tx = 0, ty = 0;
  let fill = 128;
  if (cfg?.affine) {
    const a = cfg.affine;
    const r = need();
    const theta = (r.uniform(-a.rotation, a.rotation) * Math.PI) / 180;
    tx = r.uniform(-a.translate, a.translate) * size;
    ty = r.uniform(-a.translate, a.translate) * size;
    const s = r.uniform(a.scale[0], a.scale[1]);
    const phi = a.shear ? (r.uniform(-a.shear, a.shear) * Math.PI) / 180 : 0;
    fill = a.fill;
    const cos = Math.cos(theta), sin = Math.sin(theta), sh = Math.tan(phi);
    const m00 = s * cos, m01 = s * (cos * sh - sin), m10 = s * sin, m11 = s * (sin * sh + cos);
    const det = m00 * m11 - m01 * m10;
    mi = [m11 / det, -m01 / det, -m10 / det, m00 / det];
  }
  const color = cfg?.color
    ? {
        brightness: need().uniform(1 - cfg.color.brightness, 1 + cfg.color.brightness),
        contrast: need().uniform(1 - cfg.color.contrast, 1 + cfg.color.contrast),
        gamma: need().uniform(1 - cfg.color.gamma, 1 + cfg.color.gamma),
      }
    : null;
  const c = size / 2;
  const [a, b, d, e] = mi as [number, number, number, number];
  // q = Mi·(p − c − t) + c, p = (i + 0.5 + ox, j + 0.5 + oy); a flip then mirrors q.x.
  const px0 = 0.5 + ox - c - tx;
  const py0 = 0.5 + oy - c - ty;
  let m0 = a, m1 = b, m2 = a * px0 + b * py0 + c;
  if (flip) {
    m0 = -m0;
    m1 = -m1;
    m2 = size - m2;
  }
  return { m: [m0, m1, m2, d, e, d * px0 + e * py0 + c], fill, color };
}

/** The colour lookup table for one sample: brightness, then contrast around the mean, then gamma. */
export function colorTable(color: NonNullable<SampleTransform['color']>, meanLevel: number): Float32Array {
  const lut = new Float32Array(256);
  const mean = meanLevel * color.brightness;
  for (let v = 0; v < 256; v++) {
    let x = Math.min(255, v * color.brightness);
    x = Math.min(255, Math.max(0, mean + color.contrast * (x - mean)));
    lut[v] = 255 * Math.pow(x / 255, color.gamma);
  }
  return lut;
}

const IDENTITY_LUT = Float32Array.from({ length: 256 }, (_, i) => i);

function meanGrey(src: Uint8Array, c: number): number {
  let s = 0;
  if (c === 1) for (let i = 0; i < src.length; i++) s += src[i]!;
  else for (let i = 0; i < src.length; i += 3) s += 0.299 * src[i]! + 0.587 * src[i + 1]! + 0.114 * src[i + 2]!;
  return s / (src.length / c);
}

/** An 8-bit image of 1 or 3 interleaved channels. */
export interface Pixels {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/**
 * Render one sample: out[off .. off + dim·dim·3) receives RGB in [0, 255] (grey replicated to three
 * channels). The transform's size×size coordinates are stretched over the source image, which is
 * sampled bilinearly (edge pixels extend to the image border; beyond it, the fill value).
 */
export function renderSample(img: Pixels, size: number, t: SampleTransform, dim: number, out: Float32Array, off: number): void {
  const { data: src, width: W, height: H, channels: c } = img;
  const kx = W / size, ky = H / size;
  // Source index coordinates: u = kx·q.x − 0.5, v = ky·q.y − 0.5.
  const m0 = t.m[0] * kx, m1 = t.m[1] * kx, m2 = t.m[2] * kx - 0.5;
  const m3 = t.m[3] * ky, m4 = t.m[4] * ky, m5 = t.m[5] * ky - 0.5;
  const lut = t.color ? colorTable(t.color, meanGrey(src, c)) : IDENTITY_LUT;
  // An integer shift of an unscaled image without colour: a plain copy.
  if (!t.color && m0 === 1 && m1 === 0 && m3 === 0 && m4 === 1 && Number.isInteger(m2) && Number.isInteger(m5) && m2 >= 0 && m5 >= 0 && m2 + dim <= W && m5 + dim <= H) {
    let o = off;
    for (let j = 0; j < dim; j++) {
      let p = ((j + m5) * W + m2) * c;
      for (let i = 0; i < dim; i++, o += 3) {
        if (c === 1) {
          const v = src[p++]!;
          out[o] = v;
          out[o + 1] = v;
          out[o + 2] = v;
        } else {
          out[o] = src[p++]!;
          out[o + 1] = src[p++]!;
          out[o + 2] = src[p++]!;
        }
      }
    }
    return;
  }
  const fill = t.fill;
  const lastX = W - 1, lastY = H - 1;
  const uMax = W - 0.5, vMax = H - 0.5;
  const stride = W * c;
  const plain = c === 1 && !t.color;
  let o = off;
  for (let j = 0; j < dim; j++) {
    let u = m1 * j + m2;
    let v = m4 * j + m5;
    for (let i = 0; i < dim; i++, u += m0, v += m3, o += 3) {
      if (u >= 0 && v >= 0 && u < lastX && v < lastY) {
        // Inside: all four neighbours exist.
        const x0 = u | 0;
        const y0 = v | 0;
        const fx = u - x0;
        const fy = v - y0;
        const p = y0 * stride + x0 * c;
        if (plain) {
          const top = src[p]! + fx * (src[p + 1]! - src[p]!);
          const bottom = src[p + stride]! + fx * (src[p + stride + 1]! - src[p + stride]!);
          const val = top + fy * (bottom - top);
          out[o] = val;
          out[o + 1] = val;
          out[o + 2] = val;
          continue;
        }
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        if (c === 1) {
          const val = w00 * lut[src[p]!]! + w01 * lut[src[p + 1]!]! + w10 * lut[src[p + stride]!]! + w11 * lut[src[p + stride + 1]!]!;
          out[o] = val;
          out[o + 1] = val;
          out[o + 2] = val;
        } else {
          for (let ch = 0; ch < 3; ch++) {
            out[o + ch] = w00 * lut[src[p + ch]!]! + w01 * lut[src[p + 3 + ch]!]! + w10 * lut[src[p + stride + ch]!]! + w11 * lut[src[p + stride + 3 + ch]!]!;
          }
        }
        continue;
      }
      if (u < -0.5 || v < -0.5 || u > uMax || v > vMax) {
        out[o] = fill;
        out[o + 1] = fill;
        out[o + 2] = fill;
        continue;
      }
      // Within half a pixel of the border: the edge pixel extends to it.
      let x0 = Math.floor(u);
      let y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      let dx: number = c, dy = stride;
      if (x0 < 0) {
        x0 = 0;
        dx = 0;
      } else if (x0 >= lastX) {
        x0 = lastX;
        dx = 0;
      }
      if (y0 < 0) {
        y0 = 0;
        dy = 0;
      } else if (y0 >= lastY) {
        y0 = lastY;
        dy = 0;
      }
      const p = y0 * stride + x0 * c;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      for (let ch = 0; ch < c; ch++) {
        const val = w00 * lut[src[p + ch]!]! + w01 * lut[src[p + dx + ch]!]! + w10 * lut[src[p + dy + ch]!]! + w11 * lut[src[p + dy + dx + ch]!]!;
        if (c === 1) {
          out[o] = val;
          out[o + 1] = val;
          out[o + 2] = val;
        } else {
          out[o + ch] = val;
        }
      }
    }
  }
}
