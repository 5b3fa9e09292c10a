import { describe, expect, it } from 'vitest';
import type { RawImage } from '../../../src/data/image/decode.js';
import { lungFieldBox } from '../../../src/data/image/lung-field.js';
import { DEFAULT_IMAGE_SETTINGS, prepareImage, type ImageSettings } from '../../../src/data/image/prepare.js';

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

describe('lung field', () => {
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
});
