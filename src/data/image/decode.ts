/**
 * Decoding: JPEG, PNG (including 16-bit greyscale) and whatever else sharp reads, to raw 8- or
 * 16-bit pixels.
 *
 * JPEGs go through libjpeg-turbo directly (the optional @julusian/jpeg-turbo binding: one
 * synchronous call, no thread hand-offs, ~4x less CPU than a sharp pipeline per small image); very
 * large JPEGs and every other format go through sharp, which shrinks large JPEGs while decoding.
 */
import { createRequire } from 'node:module';
import sharp from 'sharp';

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
