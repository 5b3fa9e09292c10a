/**
 * What explain writes for a map: the overlay PNG (the image in grey, the map upsampled bilinearly
 * over it in jet colours with opacity growing with strength, a colour bar at the right) and the raw
 * map as a NumPy .npy file (float32, C order, with its shape), so Python reads it with numpy.load.
 */
import sharp from 'sharp';

const MAX_SIDE = 512;
const MIN_SIDE = 256;
const BAR = 16;
const GAP = 6;

/** NumPy's .npy (format 1.0) of a float32 array of the given shape. */
export function npy(data: Float32Array, shape: readonly number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header = `${header}${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  const le = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // little-endian hosts (x86, ARM)
  out.set(le, 10 + header.length);
  return out;
}

/** Bilinear upsampling of an [h, w] map to [H, W] with half-pixel centres (as tf.image.resize). */
export function upsample(map: ArrayLike<number>, h: number, w: number, H: number, W: number): Float32Array {
  const out = new Float32Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(h - 1, Math.max(0, ((y + 0.5) * h) / H - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < W; x++) {
      const sx = Math.min(w - 1, Math.max(0, ((x + 0.5) * w) / W - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      const top = map[y0 * w + x0]! * (1 - fx) + map[y0 * w + x1]! * fx;
      const bottom = map[y1 * w + x0]! * (1 - fx) + map[y1 * w + x1]! * fx;
      out[y * W + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}

/** The jet colour map at t in [0, 1]: RGB 0..255. */
export function jet(t: number): [number, number, number] {
  const c = (v: number) => Math.round(255 * Math.min(1, Math.max(0, v)));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))];
}

/** The base picture, grey 0..255, [height, width]. */
async function grey(base: { file: string } | { pixels: Float32Array; dim: number }): Promise<{ px: Uint8Array; width: number; height: number }> {
  if ('file' in base) {
    const img = sharp(base.file).greyscale();
    const meta = await img.metadata();
    const side = Math.max(meta.width!, meta.height!);
    const scale = Math.min(MAX_SIDE / side, Math.max(1, MIN_SIDE / side)); // small images shown larger, large ones smaller
    const width = Math.max(1, Math.round(meta.width! * scale));
    const height = Math.max(1, Math.round(meta.height! * scale));
    const { data } = await img.resize(width, height, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
    return { px: new Uint8Array(data.buffer, data.byteOffset, width * height), width, height };
  }
  // The model's input (preprocessed): the channels' mean, stretched to 0..255, shown at 256 px or more.
  const d = base.dim;
  const v = new Float32Array(d * d);
  for (let i = 0; i < d * d; i++) v[i] = (base.pixels[i * 3]! + base.pixels[i * 3 + 1]! + base.pixels[i * 3 + 2]!) / 3;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  const side = Math.max(d, Math.min(MAX_SIDE, Math.max(MIN_SIDE, d)));
  const up = upsample(v, d, d, side, side);
  return { px: Uint8Array.from(up, (x) => (hi > lo ? (255 * (x - lo)) / (hi - lo) : 0)), width: side, height: side };
}

/** The overlay PNG of an [h, w] map on its image (see the top of the file). */
export async function overlayPng(base: { file: string } | { pixels: Float32Array; dim: number }, map: ArrayLike<number>, h: number, w: number): Promise<Buffer> {
  const g = await grey(base);
  const { width, height } = g;
  const up = upsample(map, h, w, height, width);
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, map[i]!);
  const W = width + GAP + BAR;
  const rgb = new Uint8Array(W * height * 3).fill(255);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = max > 0 ? up[y * width + x]! / max : 0;
      const a = 0.55 * t;
      const [r, gg, b] = jet(t);
      const p = g.px[y * width + x]!;
      const o = (y * W + x) * 3;
      rgb[o] = Math.round(p * (1 - a) + r * a);
      rgb[o + 1] = Math.round(p * (1 - a) + gg * a);
      rgb[o + 2] = Math.round(p * (1 - a) + b * a);
    }
    const [r, gg, b] = jet(1 - y / Math.max(1, height - 1));
    for (let x = width + GAP; x < W; x++) {
      const o = (y * W + x) * 3;
      rgb[o] = r;
      rgb[o + 1] = gg;
      rgb[o + 2] = b;
    }
  }
  return sharp(Buffer.from(rgb.buffer), { raw: { width: W, height, channels: 3 } }).png().toBuffer();
}
