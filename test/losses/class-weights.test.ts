import { describe, expect, it } from 'vitest';
import { classWeightsForLoss, computeClassWeights } from '../../src/losses/index.js';
import type { ClassStats } from '../../src/core/types.js';
import { MedtrainError } from '../../src/util/errors.js';

const s = (positive: number, negative: number, masked = 0): ClassStats => ({ positive, negative, masked, uncertain: 0, blank: 0 });

// Three classes over 100 rows: 10 / 25 / 50 positives; the third has 20 masked entries.
const stats = [s(10, 90), s(25, 75), s(50, 30, 20)];

describe('class weights', () => {
  it('reference WBCE weights: n/pos, L1-normalised ×10 or raw', () => {
    const raw = computeClassWeights(stats, { kind: 'class', normalization: 'none' });
    expect(raw.positive).toEqual([10, 4, 2]);
    expect(raw.negative).toEqual([10, 4, 2]);
    const l1 = computeClassWeights(stats, { kind: 'class', normalization: 'l1' });
    [10 / 16, 4 / 16, 2 / 16].forEach((f, i) => expect(l1.positive[i]).toBeCloseTo(10 * f, 12));
    expect(l1.positive.reduce((a, b) => a + b)).toBeCloseTo(10, 12);
  });

  it('reference CWBCE weights: N/pos and N/neg, each vector L1-normalised ×10 or raw', () => {
    const raw = computeClassWeights(stats, { kind: 'pos-neg', normalization: 'none' });
    expect(raw.positive).toEqual([10, 4, 80 / 50]);
    expect(raw.negative).toEqual([100 / 90, 100 / 75, 80 / 30]);
    const l1 = classWeightsForLoss('CWBCE', stats, 'l1');
    const sp = 10 + 4 + 1.6;
    const sn = 100 / 90 + 100 / 75 + 80 / 30;
    expect(l1.positive[0]).toBeCloseTo((10 * 10) / sp, 12);
    expect(l1.negative[2]).toBeCloseTo((10 * (80 / 30)) / sn, 12);
    expect(l1.negative.reduce((a, b) => a + b)).toBeCloseTo(10, 12);
    expect(l1.scheme).toBe('pos-neg L1Normed');
  });

  it("InnerEye's pos_weight, MML's max/occurrence, uniform", () => {
    const ie = computeClassWeights(stats, { kind: 'pos-weight' });
    expect(ie.positive).toEqual([9, 3, 0.6]);
    expect(ie.negative).toEqual([1, 1, 1]);
    const mml = computeClassWeights(stats, { kind: 'max-occurrence' });
    expect(mml.positive).toEqual([5, 2, 1]);
    expect(mml.negative).toEqual([5, 2, 1]);
    expect(classWeightsForLoss('BCE', stats, 'l1').positive).toEqual([1, 1, 1]);
  });

  it('prevalence weights re-weight to the target prevalence; imbalance ratio 1 is sklearn balanced', () => {
    const w = computeClassWeights(stats, { kind: 'prevalence', prevalence: 0.2 });
    // class 0: p = 0.1 → w+ = 0.2/0.1 = 2, w- = 0.8/0.9.
    expect(w.positive[0]).toBeCloseTo(2, 12);
    expect(w.negative[0]).toBeCloseTo(0.8 / 0.9, 12);
    // The weighted prevalence is the target: w+·pos / (w+·pos + w-·neg) = π.
    stats.forEach((st, c) => {
      const pos = w.positive[c]! * st.positive;
      expect(pos / (pos + w.negative[c]! * st.negative)).toBeCloseTo(0.2, 12);
    });
    const balanced = computeClassWeights(stats, { kind: 'prevalence', imbalanceRatio: 1 });
    expect(balanced.positive[1]).toBeCloseTo(100 / (2 * 25), 12);
    expect(balanced.negative[1]).toBeCloseTo(100 / (2 * 75), 12);
    const perClass = computeClassWeights(stats, { kind: 'prevalence', prevalence: [0.5, 0.25, 0.625] });
    expect(perClass.positive[2]).toBeCloseTo(1, 12);
    expect(() => computeClassWeights(stats, { kind: 'prevalence', prevalence: 1 })).toThrow(MedtrainError);
    expect(() => computeClassWeights(stats, { kind: 'prevalence', prevalence: [0.5] })).toThrow(/3 classes/);
  });

  it('a class without positives (or negatives) gets weight 0 on that side, out of the normalisation, never Infinity or NaN', () => {
    const withEmpty = [...stats, s(0, 100), s(100, 0)];
    for (const scheme of [
      { kind: 'class', normalization: 'l1' },
      { kind: 'class', normalization: 'none' },
      { kind: 'pos-neg', normalization: 'l1' },
      { kind: 'pos-neg', normalization: 'none' },
      { kind: 'pos-weight' },
      { kind: 'max-occurrence' },
      { kind: 'prevalence', prevalence: 0.3 },
    ] as const) {
      const w = computeClassWeights(withEmpty, scheme);
      for (const v of [...w.positive, ...w.negative]) expect(Number.isFinite(v), JSON.stringify(scheme)).toBe(true);
      expect(w.positive[3], JSON.stringify(scheme)).toBe(0);
      expect(w.emptyPositive).toEqual([3]);
    }
    const l1 = computeClassWeights(withEmpty, { kind: 'pos-neg', normalization: 'l1' });
    // The class without positives takes no share of the positive normalisation: the others' positive
    // weights are those computed without it.
    const ref = computeClassWeights([...stats, s(100, 0)], { kind: 'pos-neg', normalization: 'l1' });
    expect(l1.positive.map((v) => v.toFixed(12))).toEqual([...ref.positive.slice(0, 3), 0, ref.positive[3]!].map((v) => v.toFixed(12)));
    expect(l1.negative[4]).toBe(0);
    expect(l1.emptyNegative).toEqual([4]);
  });

  it('refuses statistics that define no weights', () => {
    expect(() => computeClassWeights([s(0, 10), s(0, 5)], { kind: 'pos-neg', normalization: 'l1' })).toThrow(MedtrainError);
    expect(() => computeClassWeights([s(0, 10)], { kind: 'pos-weight' })).toThrow(/no class has positive/);
    expect(() => computeClassWeights([], { kind: 'uniform' })).toThrow(MedtrainError);
    expect(() => computeClassWeights([s(-1, 3)], { kind: 'uniform' })).toThrow(/non-negative/);
  });
});
