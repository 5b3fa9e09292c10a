import { describe, expect, it } from 'vitest';
import { augmentationToken, colorTable, DEFAULT_AFFINE, DEFAULT_COLOR, drawTransform, parseAugment, parseAugmentations, renderSample, type AugmentConfig, type Pixels } from '../../src/data/augment.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const grey = (w: number, h: number, f: (x: number, y: number) => number): Pixels => {
  const data = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = f(x, y);
  return { data, width: w, height: h, channels: 1 };
};
const render = (img: Pixels, size: number, cfg: AugmentConfig | null, dim: number, seed: string | null = null): Float32Array => {
  const out = new Float32Array(dim * dim * 3);
  renderSample(img, size, drawTransform(cfg, seed === null ? null : new Rng(seed), size, dim), dim, out, 0);
  return out;
};
/** Channel 0 of an RGB render, as rows. */
const plane = (x: Float32Array, dim: number) => Array.from({ length: dim }, (_, j) => Array.from({ length: dim }, (_, i) => x[(j * dim + i) * 3]!));

describe('augmentation pipelines by name', () => {
  it('reads the names of the pipelines and of benchmark tokens', () => {
    expect(parseAugment('affine,color')).toEqual({ affine: DEFAULT_AFFINE, color: DEFAULT_COLOR });
    expect(parseAugment('AugAffineColor')).toEqual(parseAugment('affine,color'));
    expect(parseAugment('affine')).toEqual({ affine: DEFAULT_AFFINE });
    expect(parseAugment('colour, flip, crop')).toEqual({ color: DEFAULT_COLOR, flip: { probability: 0.5 }, crop: 'random' });
    expect(parseAugment('NoAug')).toBeNull();
    expect(parseAugment('')).toBeNull();
    expect(DEFAULT_AFFINE).toEqual({ rotation: 15, translate: 0.05, scale: [0.95, 1.05], shear: 0, fill: 128 });
    expect(() => parseAugment('affine,elastic')).toThrow(MedtrainError);
    expect(parseAugmentations('AugColorAffine')).toEqual(['affine', 'color']);
    expect(parseAugmentations(['flip', 'affine'])).toEqual(['affine', 'flip']);
    expect(parseAugmentations('none')).toEqual([]);
    expect(() => parseAugmentations('affine,affine')).toThrow(/augmentation named twice/);
    expect(augmentationToken(['affine', 'color'])).toBe('AugAffineColor');
    expect(augmentationToken([])).toBe('NoAug');
  });
});

describe('rendering a sample', () => {
  it('without augmentation and at the same size, copies the pixels (grey to three channels)', () => {
    const img = grey(8, 8, (x, y) => x * 10 + y);
    const out = render(img, 8, null, 8);
    for (let i = 0; i < 64; i++) expect([out[i * 3], out[i * 3 + 1], out[i * 3 + 2]]).toEqual([img.data[i], img.data[i], img.data[i]]);
    const rgb: Pixels = { data: Uint8Array.from({ length: 4 * 4 * 3 }, (_, i) => i), width: 4, height: 4, channels: 3 };
    expect(Array.from(render(rgb, 4, null, 4))).toEqual(Array.from(rgb.data));
  });

  it('centre-crops the model input out of the resized image', () => {
    const img = grey(10, 10, (x, y) => x + 10 * y);
    expect(plane(render(img, 10, null, 6), 6)[0]!.slice(0, 2)).toEqual([22, 23]);
  });

  it('resizes a constant image to the same constant, borders included (edge pixels extend to the border, no fill)', () => {
    const out = render(grey(37, 53, () => 90), 32, null, 28);
    expect(new Set(out)).toEqual(new Set([90]));
    // and with mild augmentation, samples inside the image stay at the constant
    const aug = render(grey(37, 53, () => 90), 32, { affine: { ...DEFAULT_AFFINE, rotation: 0, translate: 0, scale: [1.2, 1.2] } }, 28, 's');
    expect(new Set(aug)).toEqual(new Set([90]));
  });

  it('zooms about the centre, and fills what comes from outside the image', () => {
    const ramp = grey(64, 64, (x) => x * 4);
    const zoom = plane(render(ramp, 64, { affine: { ...DEFAULT_AFFINE, rotation: 0, translate: 0, scale: [2, 2] } }, 64, 'z'), 64);
    // Output column i samples the ramp at u = (i + 0.5 − 32) / 2 + 32 − 0.5.
    for (const i of [0, 17, 40, 63]) expect(zoom[10]![i]).toBeCloseTo(4 * ((i + 0.5 - 32) / 2 + 31.5), 3);
    const shrink = plane(render(ramp, 64, { affine: { ...DEFAULT_AFFINE, rotation: 0, translate: 0, scale: [0.5, 0.5], fill: 128 } }, 64, 'z'), 64);
    expect([shrink[0]![0], shrink[63]![63], shrink[5]![32]]).toEqual([128, 128, 128]);
    expect(shrink[32]![32]).toBeCloseTo(4 * ((32.5 - 32) * 2 + 31.5), 3);
  });

  it('flips horizontally when asked (off by default)', () => {
    const img = grey(6, 6, (x, y) => x * 20 + y);
    const flipped = plane(render(img, 6, { flip: { probability: 1 } }, 6, 'f'), 6);
    for (let j = 0; j < 6; j++) for (let i = 0; i < 6; i++) expect(flipped[j]![i]).toBe(img.data[j * 6 + (5 - i)]);
    expect(parseAugment('affine,color')!.flip).toBeUndefined();
  });

  it('draws the same transform from the same seed, and different ones from different seeds', () => {
    const cfg = parseAugment('affine,color,crop')!;
    expect(drawTransform(cfg, new Rng('a/1'), 256, 224)).toEqual(drawTransform(cfg, new Rng('a/1'), 256, 224));
    expect(drawTransform(cfg, new Rng('a/1'), 256, 224)).not.toEqual(drawTransform(cfg, new Rng('a/2'), 256, 224));
    const img = grey(40, 40, (x, y) => (x * 7 + y * 3) % 256);
    expect(render(img, 32, cfg, 28, 'k')).toEqual(render(img, 32, cfg, 28, 'k'));
    expect(() => drawTransform(null, null, 200, 224)).toThrow(/larger than the resized image/);
  });

  it('random crops stay inside the resized image', () => {
    const img = grey(12, 12, (x, y) => x + 12 * y);
    const seen = new Set<number>();
    for (let s = 0; s < 40; s++) {
      const p = plane(render(img, 12, { crop: 'random' }, 8, `c${s}`), 8);
      const x0 = p[0]![0]! % 12, y0 = Math.floor(p[0]![0]! / 12);
      expect(x0).toBeLessThanOrEqual(4);
      expect(y0).toBeLessThanOrEqual(4);
      expect(p[7]![7]).toBe(p[0]![0]! + 7 + 7 * 12);
      seen.add(p[0]![0]!);
    }
    expect(seen.size).toBeGreaterThan(5);
  });

  it('colour: brightness, contrast and gamma as a monotone table on the levels', () => {
    const same = colorTable({ brightness: 1, contrast: 1, gamma: 1 }, 100);
    expect(Array.from(same).map((v) => Math.round(v * 1e4) / 1e4)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    const lut = colorTable({ brightness: 1.1, contrast: 0.9, gamma: 1.1 }, 100);
    for (let v = 1; v < 256; v++) expect(lut[v]!).toBeGreaterThanOrEqual(lut[v - 1]!);
    expect(colorTable({ brightness: 1, contrast: 1, gamma: 1.1 }, 100)[128]!).toBeLessThan(128);
    expect(colorTable({ brightness: 1.1, contrast: 1, gamma: 1 }, 100)[100]!).toBeCloseTo(110, 4);
  });
});
