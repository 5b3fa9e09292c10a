/**
 * The pointing game on hand-made maps: the peak (first maximum in row-major order, NaN passed over),
 * its cell centre in image pixels (square and non-square maps and images), hits on a box's edge,
 * the tolerance as a Euclidean distance, and the per-class accuracy with its counts.
 */
import { describe, expect, it } from 'vitest';
import { distanceToBox, heatmapPeak, pointingAccuracy, pointingHit } from '../../src/explain/pointing.js';
import { MedtrainError } from '../../src/util/errors.js';

/** An h × w map, 0 everywhere but the given cells. */
function map(h: number, w: number, cells: Array<[number, number, number]>): Float32Array {
  const m = new Float32Array(h * w);
  for (const [r, c, v] of cells) m[r * w + c] = v;
  return m;
}

describe('heatmapPeak', () => {
  it('takes the first maximum in row-major order and passes over NaN', () => {
    expect(heatmapPeak([0, 3, 1, 3])).toEqual({ index: 1, value: 3 });
    expect(heatmapPeak([NaN, -2, -1, NaN, -1])).toEqual({ index: 2, value: -1 });
    expect(heatmapPeak([-Infinity, -Infinity])).toEqual({ index: 0, value: -Infinity });
    expect(heatmapPeak([NaN, Infinity, 5])).toEqual({ index: 1, value: Infinity });
    expect(() => heatmapPeak([NaN, NaN])).toThrow(MedtrainError);
    expect(() => heatmapPeak([])).toThrow(/no value/);
  });
});

describe('pointingHit', () => {
  const image = { width: 64, height: 64 };

  it('maps the peak cell to its centre in image pixels', () => {
    // 2 × 2 cells of 32 px: cell (0, 1) spans x 32..64, y 0..32; its centre is (48, 16).
    const r = pointingHit(map(2, 2, [[0, 1, 1]]), 2, 2, image, [{ x0: 40, y0: 10, x1: 50, y1: 20 }]);
    expect(r).toMatchObject({ hit: true, row: 0, col: 1, value: 1, x: 48, y: 16, distance: 0 });
    // A non-square map over a non-square image: 4 rows × 2 columns over 10 × 20 px: cells 5 × 5.
    const m = pointingHit(map(4, 2, [[3, 0, 2]]), 4, 2, { width: 10, height: 20 }, [{ x0: 0, y0: 15, x1: 5, y1: 20 }]);
    expect(m).toMatchObject({ hit: true, row: 3, col: 0, x: 2.5, y: 17.5 });
    // A 13 × 8 map over a 64 × 78 image (the phantom's aspect): cells of 8 × 6 px.
    const p = pointingHit(map(13, 8, [[6, 5, 1]]), 13, 8, { width: 64, height: 78 }, []);
    expect([p.x, p.y]).toEqual([44, 39]);
  });

  it('breaks ties toward the first cell in row-major order', () => {
    const m = map(3, 3, [
      [1, 2, 5],
      [2, 0, 5],
    ]);
    const right = { x0: 20, y0: 10, x1: 30, y1: 20 }; // holds cell (1, 2)'s centre (25, 15)
    const r = pointingHit(m, 3, 3, { width: 30, height: 30 }, [right]);
    expect([r.row, r.col, r.hit]).toEqual([1, 2, true]);
    const r2 = pointingHit(m, 3, 3, { width: 30, height: 30 }, [{ x0: 0, y0: 20, x1: 10, y1: 30 }]);
    expect(r2.hit).toBe(false);
  });

  it('counts a point on the edge as inside, and any box of several', () => {
    const m = map(4, 4, [[0, 0, 1]]); // centre (8, 8) on a 64 px image
    expect(pointingHit(m, 4, 4, image, [{ x0: 8, y0: 0, x1: 20, y1: 8 }]).hit).toBe(true);
    expect(pointingHit(m, 4, 4, image, [{ x0: 8.01, y0: 0, x1: 20, y1: 8 }]).hit).toBe(false);
    const boxes = [
      { x0: 40, y0: 40, x1: 60, y1: 60 },
      { x0: 0, y0: 0, x1: 10, y1: 10 },
    ];
    expect(pointingHit(m, 4, 4, image, boxes)).toMatchObject({ hit: true, distance: 0 });
    expect(pointingHit(m, 4, 4, image, [])).toMatchObject({ hit: false, distance: Infinity });
  });

  it('hits within the tolerance, measured as the distance to the nearest box', () => {
    const m = map(4, 4, [[0, 0, 1]]); // (8, 8)
    const box = { x0: 11, y0: 12, x1: 30, y1: 30 }; // 3 px right and 4 px below: 5 px away
    expect(distanceToBox(8, 8, box)).toBe(5);
    const miss = pointingHit(m, 4, 4, image, [box]);
    expect(miss).toMatchObject({ hit: false, distance: 5 });
    expect(pointingHit(m, 4, 4, image, [box], { tolerance: 4.99 }).hit).toBe(false);
    expect(pointingHit(m, 4, 4, image, [box], { tolerance: 5 }).hit).toBe(true);
    // Zhang et al.'s 15 px at 224 px, scaled to a 64 px image: 15 × 64 / 224 ≈ 4.3 px.
    expect(pointingHit(m, 4, 4, image, [{ x0: 12, y0: 0, x1: 20, y1: 8 }], { tolerance: (15 * 64) / 224 }).hit).toBe(true);
    expect(() => pointingHit(m, 4, 4, image, [box], { tolerance: -1 })).toThrow(/tolerance/);
  });

  it('says what is wrong with a map that does not fit its size', () => {
    expect(() => pointingHit(new Float32Array(5), 2, 2, image, [])).toThrow(/5 values, not 2 × 2/);
    expect(() => pointingHit(new Float32Array(0), 0, 0, image, [])).toThrow(/heatmap height/);
    expect(() => pointingHit(new Float32Array(4), 2, 2, { width: 0, height: 4 }, [])).toThrow(MedtrainError);
  });
});

describe('pointingAccuracy', () => {
  it('scores hits over the images where the finding is present and located, counting the unlocated apart', () => {
    const trials = [
      { finding: 'Cardiomegaly', hit: true },
      { finding: 'Cardiomegaly', hit: false },
      { finding: 'Cardiomegaly', hit: true },
      { finding: 'Pneumothorax', hit: null },
      { finding: 'Pneumothorax', hit: true },
      { finding: 'Edema', hit: false },
    ];
    expect(pointingAccuracy(trials)).toEqual({
      Cardiomegaly: { hits: 2, trials: 3, accuracy: 2 / 3, unlocated: 0 },
      Pneumothorax: { hits: 1, trials: 1, accuracy: 1, unlocated: 1 },
      Edema: { hits: 0, trials: 1, accuracy: 0, unlocated: 0 },
    });
    // Named classes: in that order, each present, the others left out; no trial → accuracy null.
    const named = pointingAccuracy(trials, ['Pneumothorax', 'Fracture', 'Cardiomegaly']);
    expect(Object.keys(named)).toEqual(['Pneumothorax', 'Fracture', 'Cardiomegaly']);
    expect(named.Fracture).toEqual({ hits: 0, trials: 0, accuracy: null, unlocated: 0 });
    expect(JSON.parse(JSON.stringify(pointingAccuracy([{ finding: 'constructor', hit: null }])))).toEqual({ constructor: { hits: 0, trials: 0, accuracy: null, unlocated: 1 } });
  });
});
