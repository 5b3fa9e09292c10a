/**
 * The ensembles' combiners (src/ensembles/combine.ts) and their fitting, on made-up scores: the
 * mean, the weights formula, the logistic meta learner (against scikit-learn's LogisticRegression
 * as the oracle) and cross-fitting (no row's output depends on its own label).
 */
import { describe, expect, it } from 'vitest';
import { MASKED } from '../../src/core/types.js';
import { combine, crossFit, fitLogistic, fitStacking, fitWeights, logit } from '../../src/ensembles/combine.js';
import { Rng } from '../../src/util/rng.js';
import { describeOracle, runPython } from '../helpers/python.js';

/** M members' [rows, classes] scores, each a noisy view of the labels. */
function task(rows: number, classes: number, noise: number[], seed = 1) {
  const rng = new Rng(seed);
  const labels = new Float32Array(rows * classes);
  for (let i = 0; i < labels.length; i++) labels[i] = rng.next() < 0.3 ? 1 : 0;
  const members = noise.map((s) => Float64Array.from(labels, (y) => 1 / (1 + Math.exp(-((y ? 1 : -1) + s * rng.normal())))));
  return { labels, members };
}

describe('combine', () => {
  it('mean: the members average, each class and row', () => {
    const a = [0.1, 0.9, 0.4, 0.2];
    const b = [0.3, 0.5, 0.8, 0.0];
    expect([...combine({ method: 'mean' }, [a, b], 2, 2)]).toEqual(a.map((v, i) => (v + b[i]!) / 2));
  });

  it("weighted: AUROC above chance decides each class's weights; none above chance is the mean", () => {
        // 4 rows × 2 classes, row-major. Class 0's labels 1 1 0 0, class 1's 1 0 0 1.
    const labels = [1, 1, 1, 0, 0, 0, 0, 1];
    const m0 = [0.9, 0.1, 0.8, 0.9, 0.1, 0.8, 0.2, 0.2]; // class 0: AUROC 1; class 1: 0
    const m1 = [0.9, 0.5, 0.2, 0.5, 0.6, 0.5, 0.1, 0.5]; // class 0: 0.75; class 1: 0.5
    const w = fitWeights([m0, m1], labels, [0, 1, 2, 3], 2);
    expect(w[0]![0]).toBeCloseTo(0.5 / 0.75, 12);
    expect(w[0]![1]).toBeCloseTo(0.25 / 0.75, 12);
    expect(w[1]).toEqual([0.5, 0.5]);
  });

  it('masked labels are left out of the fit', () => {
    const { labels, members } = task(200, 1, [1, 3]);
    const masked = Float32Array.from(labels);
    for (let i = 0; i < 50; i++) masked[i] = MASKED;
    const rows = Array.from({ length: 200 }, (_, i) => i);
    const tail = Array.from({ length: 150 }, (_, i) => i + 50);
    expect(fitWeights(members, masked, rows, 1)).toEqual(fitWeights(members, labels, tail, 1));
    expect(fitStacking(members, masked, rows, 1)).toEqual(fitStacking(members, labels, tail, 1));
  });

  it('stacking: the meta learner is at the minimum of its objective; a one-valued class takes the mean', () => {
    const { labels, members } = task(300, 1, [0.5, 2, 4]);
    const X = Array.from({ length: 300 }, (_, i) => members.map((m) => logit(m[i]!)));
    const y = [...labels];
    const fit = fitLogistic(X, y, 1)!;
    const f = (b: number, w: number[]) => 0.5 * w.reduce((a, v) => a + v * v, 0) + X.reduce((a, x, i) => {
      const z = b + x.reduce((s, v, j) => s + v * w[j]!, 0);
      return a + Math.log1p(Math.exp(z)) - y[i]! * z;
    }, 0);
    const best = f(fit.intercept, fit.coef);
    for (const d of [1e-3, -1e-3]) {
      expect(f(fit.intercept + d, fit.coef)).toBeGreaterThan(best);
      for (let j = 0; j < 3; j++) expect(f(fit.intercept, fit.coef.map((v, k) => (k === j ? v + d : v)))).toBeGreaterThan(best);
    }
    // The least noisy member weighs most.
    expect(fit.coef[0]).toBeGreaterThan(fit.coef[2]!);
    expect(fitLogistic(X, y.map(() => 0))).toBeNull();
  });

  it('cross-fitting: a row\'s output does not depend on its own label', () => {
    const { labels, members } = task(120, 2, [1, 2]);
    const foldOf = Int32Array.from({ length: 120 }, (_, i) => i % 4);
    const base = crossFit('stacking', members, labels, 120, 2, { folds: 4, foldOf });
    const flipped = Float32Array.from(labels);
    for (let i = 0; i < 120; i++) if (foldOf[i] === 2) for (let k = 0; k < 2; k++) flipped[i * 2 + k] = 1 - flipped[i * 2 + k]!;
    const again = crossFit('stacking', members, flipped, 120, 2, { folds: 4, foldOf });
    for (let i = 0; i < 120; i++) {
      for (let k = 0; k < 2; k++) {
        if (foldOf[i] === 2) expect(again[i * 2 + k]).toBe(base[i * 2 + k]);
        else expect(again[i * 2 + k]).not.toBe(base[i * 2 + k]);
      }
    }
  });
});

describeOracle('stacking against scikit-learn', ['sklearn', 'numpy'], () => {
  it("LogisticRegression(C) over the members' logits: the same intercept and coefficients within 1e-5", () => {
    for (const [C, seed] of [[1, 1], [0.1, 2], [10, 3]] as const) {
      const { labels, members } = task(400, 1, [0.7, 1.5, 3], seed);
      const X = Array.from({ length: 400 }, (_, i) => members.map((m) => logit(m[i]!)));
      const y = [...labels];
      const ours = fitLogistic(X, y, C)!;
      const ref = runPython<{ intercept: number; coef: number[] }>(
        `import json, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
d = json.load(sys.stdin)
m = LogisticRegression(C=d["C"], tol=1e-12, max_iter=10000).fit(np.array(d["X"]), np.array(d["y"]))
print(json.dumps({"intercept": float(m.intercept_[0]), "coef": m.coef_[0].tolist()}))`,
        { X, y, C },
      );
      expect(Math.abs(ours.intercept - ref.intercept)).toBeLessThan(1e-5);
      ours.coef.forEach((v, j) => expect(Math.abs(v - ref.coef[j]!)).toBeLessThan(1e-5));
    }
  });
});
