/**
 * The deterministic part of the image pipeline, the part the on-disk cache keeps: colour, crop
 * (centre, lung field), resize to D×D (stretch or letterbox), window and intensity transforms, then
 * 8-bit pixels ready for augmentation.
 */
import type { PixelArray, RawImage } from './decode.js';
import { applyWindow, equalizeHistogram, gaussianBlur, unsharpMask, type IntensityTransform, type WindowSpec } from './intensity.js';
import { lungFieldBox, toGreyFloat } from './lung-field.js';
import { centreSquare, resample, type Box } from './resample.js';

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
    else if (t.kind === 'blur') gaussianBlur(px, size, size, c, t.sigma);
    else equalizeHistogram(px, c);
  }
  return { data: quantize(px), width: size, height: size, channels: c, ...flag };
}

/** Whether every pixel of an RGB image has R = G = B (a grey image stored in colour). */
function equalChannels(d: Uint8Array | Uint16Array): boolean {
  for (let i = 0; i < d.length; i += 3) if (d[i] !== d[i + 1] || d[i] !== d[i + 2]) return false;
  return true;
}

/** The first channel of an interleaved RGB image. */
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
