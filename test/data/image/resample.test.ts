import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { centreSquare, resample } from '../../../src/data/image/resample.js';
import { Rng } from '../../../src/util/rng.js';
import { describeOracle, runPython } from '../../helpers/python.js';
import { tempDir } from '../fixtures.js';

const tmp = tempDir('resample');
afterAll(tmp.cleanup);

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
});

describeOracle('resampling against Pillow', ['PIL', 'numpy'], () => {
  it('matches Image.resize(BILINEAR), antialiased, within rounding', () => {
    const rng = new Rng(2);
    const w = 320, h = 390;
    const src = Uint8Array.from({ length: w * h }, (_, i) => Math.min(255, Math.max(0, 128 + 60 * Math.sin(i / 37) + rng.normal(0, 20))));
    const file = join(tmp.dir, 'src.raw');
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
