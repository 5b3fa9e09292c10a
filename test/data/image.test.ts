import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  centreSquare,
  decodeImage,
  DEFAULT_IMAGE_SETTINGS,
  equalizeHistogram,
  gaussianBlur,
  ImageDecodeError,
  jpegHeader,
  lungFieldBox,
  parseTransforms,
  prepareImage,
  resample,
  unsharpMask,
  type ImageSettings,
  type RawImage,
} from '../../src/data/image.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { describeOracle, runPython } from '../helpers/python.js';
import { tempDir, writeGrey16Png, writeGreyJpeg, writePng } from './fixtures.js';

const tmp = tempDir('image');
afterAll(tmp.cleanup);
const f = (name: string) => join(tmp.dir, name);

const settings = (over: Partial<ImageSettings> = {}): ImageSettings => ({ ...DEFAULT_IMAGE_SETTINGS, size: 64, ...over });

/** A radiograph-like picture: dark background, bright body, two dark lungs. */
function chest(w: number, h: number): (x: number, y: number) => number {
  return (x, y) => {
    const u = x / w, v = y / h;
    let g = 15;
    if (((u - 0.5) / 0.42) ** 2 + ((v - 0.55) / 0.48) ** 2 < 1) g = 180;
    if (((u - 0.32) / 0.12) ** 2 + ((v - 0.5) / 0.25) ** 2 < 1 || ((u - 0.68) / 0.12) ** 2 + ((v - 0.5) / 0.25) ** 2 < 1) g = 60;
    return g;
  };
}

beforeAll(async () => {
  await writeGreyJpeg(f('grey.jpg'), 40, 30, (x, y) => x * 4 + y);
  await writePng(f('rgb.png'), 20, 10, 3, (x, y, c) => (c === 0 ? 200 : c === 1 ? x * 10 : y * 20));
  writeGrey16Png(f('deep.png'), 16, 8, (x, y) => 1000 + (x % 4) + 60000 * (y === 7 && x === 15 ? 1 : 0));
});

describe('decoding', () => {
  it('decodes a greyscale JPEG to one 8-bit channel', async () => {
    const buf = readFileSync(f('grey.jpg'));
    expect(jpegHeader(buf)).toEqual({ width: 40, height: 30, components: 1 });
    const img = await decodeImage(buf);
    expect([img.width, img.height, img.channels, img.depth]).toEqual([40, 30, 1, 8]);
    expect(img.data).toBeInstanceOf(Uint8Array);
    expect(Math.abs(img.data[29 * 40 + 39]! - (39 * 4 + 29))).toBeLessThanOrEqual(3);
  });

  it('decodes an RGB PNG to three channels, exactly; a grey image stored as RGB is kept as one channel', async () => {
    const img = await decodeImage(readFileSync(f('rgb.png')));
    expect([img.width, img.height, img.channels, img.depth]).toEqual([20, 10, 3, 8]);
    expect(Array.from(img.data.subarray((3 * 20 + 5) * 3, (3 * 20 + 5) * 3 + 3))).toEqual([200, 50, 60]);
    expect(prepareImage(img, settings()).channels).toBe(3);
    expect(prepareImage(img, settings({ colour: 'grey' })).data[3 * 20 + 5]).toBe(Math.round(0.299 * 200 + 0.587 * 50 + 0.114 * 60));
    const greyInRgb: RawImage = { data: Uint8Array.from({ length: 4 * 3 }, (_, i) => 10 * Math.floor(i / 3)), width: 2, height: 2, channels: 3, depth: 8 };
    const p = prepareImage(greyInRgb, settings());
    expect([p.channels, Array.from(p.data)]).toEqual([1, [0, 10, 20, 30]]);
  });

  it('keeps all 16 bits of a 16-bit greyscale PNG', async () => {
    const img = await decodeImage(readFileSync(f('deep.png')));
    expect([img.width, img.height, img.channels, img.depth]).toEqual([16, 8, 1, 16]);
    expect(img.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(img.data.subarray(0, 5))).toEqual([1000, 1001, 1002, 1003, 1000]);
    expect(img.data[7 * 16 + 15]).toBe(61003);
  });

  it('rejects truncated, corrupt and empty files with a reason', async () => {
    const jpg = readFileSync(f('grey.jpg'));
    await expect(decodeImage(jpg.subarray(0, Math.floor(jpg.length / 2)))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(jpg.subarray(0, Math.floor(jpg.length / 2)))).rejects.toThrow(/premature end|truncat|cannot decode/i);
    const png = readFileSync(f('rgb.png'));
    await expect(decodeImage(png.subarray(0, png.length - 30))).rejects.toThrow(ImageDecodeError);
    await expect(decodeImage(Buffer.from('this is not an image at all'))).rejects.toThrow(/not an image/);
    await expect(decodeImage(Buffer.alloc(0))).rejects.toThrow(/empty/);
  });
});

describe('resizing and cropping', () => {
  const box = (w: number, h: number) => ({ x: 0, y: 0, w, h });

  it('keeps a constant image constant and the mean of a gradient', () => {
    const flat = new Uint8Array(50 * 30).fill(77);
    expect(new Set(resample(flat, 50, 30, 1, box(50, 30), 17, 23))).toEqual(new Set([77]));
    const ramp = Float32Array.from({ length: 100 * 80 }, (_, i) => i % 100);
    const out = resample(ramp, 100, 80, 1, box(100, 80), 40, 40);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    expect(mean).toBeCloseTo(49.5, 0);
    // Upscaling a 2-pixel image interpolates between them.
    const up = resample(Uint8Array.from([0, 100]), 2, 1, 1, box(2, 1), 4, 1);
    expect(Array.from(up)).toEqual([0, 25, 75, 100]);
  });

  it('resizes a box of the image, per channel', () => {
    const rgb = new Uint8Array(10 * 10 * 3);
    for (let i = 0; i < 100; i++) rgb.set([i % 10 < 5 ? 10 : 200, 50, 99], i * 3);
    const left = resample(rgb, 10, 10, 3, { x: 0, y: 0, w: 5, h: 10 }, 2, 2);
    expect(Array.from(left.subarray(0, 3)).map(Math.round)).toEqual([10, 50, 99]);
    expect(centreSquare(320, 390)).toEqual({ x: 0, y: 35, w: 320, h: 320 });
  });

  it('finds the lung field of a frontal radiograph, and nothing in a flat image', () => {
    const w = 200, h = 240;
    const data = new Uint8Array(w * h);
    const g = chest(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = g(x, y);
    const b = lungFieldBox({ data, width: w, height: h, channels: 1 })!;
    expect(b).not.toBeNull();
    // The lungs span x in [0.2, 0.8]·w and y in [0.25, 0.75]·h; the box holds them with a small margin.
    expect(b.x).toBeLessThanOrEqual(0.2 * w);
    expect(b.x + b.w).toBeGreaterThanOrEqual(0.8 * w);
    expect(b.y).toBeLessThanOrEqual(0.25 * h);
    expect(b.y + b.h).toBeGreaterThanOrEqual(0.75 * h);
    expect(b.x).toBeGreaterThan(0.05 * w);
    expect(b.y).toBeGreaterThan(0.1 * h);
    expect(lungFieldBox({ data: new Uint8Array(w * h).fill(90), width: w, height: h, channels: 1 })).toBeNull();
    const raw: RawImage = { data, width: w, height: h, channels: 1, depth: 8 };
    const cropped = prepareImage(raw, settings({ crop: 'lung', size: 128 }), 'frontal');
    expect(cropped.cropFallback).toBeUndefined();
    expect(cropped.width).toBe(b.w);
    // Lateral views are not cropped; a failed search keeps the whole image and says so.
    expect(prepareImage(raw, settings({ crop: 'lung', size: 128 }), 'lateral').width).toBe(w);
    const flat = prepareImage({ ...raw, data: new Uint8Array(w * h).fill(90) }, settings({ crop: 'lung', size: 128 }), 'frontal');
    expect([flat.width, flat.cropFallback]).toEqual([w, true]);
  });

  it('leaves the resize to the augmentation warp unless transforms, letterboxing or a large reduction need it here', () => {
    const raw: RawImage = { data: new Uint8Array(100 * 80).fill(5), width: 100, height: 80, channels: 1, depth: 8 };
    const same = prepareImage(raw, settings());
    expect([same.width, same.height]).toEqual([100, 80]);
    expect(same.data).toBe(raw.data);
    expect([prepareImage(raw, settings({ transforms: [{ kind: 'hist' }] })).width, prepareImage(raw, settings({ size: 32 })).width]).toEqual([64, 32]);
    const centre = prepareImage(raw, settings({ crop: 'centre' }));
    expect([centre.width, centre.height]).toEqual([80, 80]);
    // Letterbox: 100×50 into 64×64 keeps the aspect ratio between black bands.
    const wide: RawImage = { data: new Uint8Array(100 * 50).fill(200), width: 100, height: 50, channels: 1, depth: 8 };
    const lb = prepareImage(wide, settings({ fit: 'letterbox' }));
    expect([lb.width, lb.height]).toEqual([64, 64]);
    expect(lb.data[0]).toBe(0);
    expect(lb.data[32 * 64 + 32]).toBe(200);
    expect(lb.data[63 * 64 + 32]).toBe(0);
  });

  it('scales 16-bit images after resizing, so depth survives until the window', async () => {
    const raw = await decodeImage(readFileSync(f('deep.png')));
    // Values 1000..1003 in row 0; 61003 in one corner. An explicit window on the low values:
    const img = prepareImage(raw, settings({ window: { center: 1001.5, width: 3 } }));
    expect(Array.from(img.data.subarray(0, 4))).toEqual([0, 85, 170, 255]);
    // Reduced to 8 bits first, they would all have been 3 or 4, one flat grey.
    expect(new Set([1000, 1001, 1002, 1003].map((v) => Math.round(v / 257))).size).toBe(1);
    // The default for 16-bit: minimum..maximum of the image.
    const auto = prepareImage(raw, settings());
    expect(auto.data[0]).toBe(0);
    expect(auto.data[7 * 16 + 15]).toBe(255);
  });
});

describe('intensity transforms', () => {
  it('reads transform names as in benchmark names', () => {
    expect(parseTransforms('sharp21_gb_hist')).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur', sigma: 1 }, { kind: 'hist' }]);
    expect(parseTransforms('GB2,sharp11')).toEqual([{ kind: 'blur', sigma: 2 }, { kind: 'sharp', radius: 1, amount: 1 }]);
    expect(parseTransforms('')).toEqual([]);
    // The Benchmark's transform objects read as they are.
    expect(parseTransforms([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur' }])).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur', sigma: 1 }]);
    expect(() => parseTransforms('sharp21_emboss')).toThrow(MedtrainError);
  });

  it('unsharp mask sharpens an edge and leaves flat areas alone', () => {
    const w = 20, h = 4;
    const x = Float32Array.from({ length: w * h }, (_, i) => (i % w < 10 ? 100 : 150));
    unsharpMask(x, w, h, 1, 2, 1);
    expect(x[0]).toBeCloseTo(100, 3);
    expect(x[19]).toBeCloseTo(150, 3);
    expect(x[9]!).toBeLessThan(100);
    expect(x[10]!).toBeGreaterThan(150);
  });

  it('Gaussian blur keeps the mean and smooths; histogram equalisation spreads levels over 0..255', () => {
    const rng = new Rng(1);
    const x = Float32Array.from({ length: 32 * 32 }, () => 100 + rng.uniform(0, 20));
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const sd = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / a.length);
    const b = Float32Array.from(x);
    gaussianBlur(b, 32, 32, 1, 1);
    expect(mean(b)).toBeCloseTo(mean(x), 0);
    expect(sd(b)).toBeLessThan(sd(x) / 2);
    equalizeHistogram(x, 1);
    expect(Math.min(...x)).toBeLessThan(2);
    expect(Math.max(...x)).toBeCloseTo(255, 0);
    expect(mean(x)).toBeGreaterThan(110);
  });
});

describeOracle('resampling against Pillow', ['PIL', 'numpy'], () => {
  it('matches Image.resize(BILINEAR), antialiased, within rounding', () => {
    const rng = new Rng(2);
    const w = 320, h = 390;
    const src = Uint8Array.from({ length: w * h }, (_, i) => Math.min(255, Math.max(0, 128 + 60 * Math.sin(i / 37) + rng.normal(0, 20))));
    const file = f('src.raw');
    writeFileSync(file, src);
    const got = resample(src, w, h, 1, { x: 0, y: 0, w, h }, 256, 224);
    const want = runPython<number[]>(
      `import json, sys, numpy as np
from PIL import Image
a = np.fromfile(${JSON.stringify(file)}, dtype=np.uint8).reshape(${h}, ${w})
out = np.asarray(Image.fromarray(a).resize((256, 224), Image.BILINEAR, reducing_gap=None))
print(json.dumps(out.ravel().tolist()))`,
    );
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThanOrEqual(1.5);
  });
});
