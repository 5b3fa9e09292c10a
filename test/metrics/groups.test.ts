import { describe, expect, it } from 'vitest';
import { auroc, columnSummary, confusionAt, groupIndex, ranking, scoreGroups, weightedGroups, type ScoreGroups } from '../../src/metrics/index.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/** Straightforward reference: sort by score with a comparator and group equal scores. */
function naiveGroups(scores: ArrayLike<number>, labels: ArrayLike<number>): ScoreGroups {
  const rows: [number, number][] = [];
  for (let i = 0; i < scores.length; i++) if (labels[i]! >= 0) rows.push([scores[i]! === 0 ? 0 : scores[i]!, labels[i]! >= 0.5 ? 1 : 0]);
  rows.sort((a, b) => b[0] - a[0]);
  const t: number[] = [];
  const pos: number[] = [];
  const neg: number[] = [];
  for (const [s, y] of rows) {
    if (t.length === 0 || t[t.length - 1] !== s) {
      t.push(s);
      pos.push(0);
      neg.push(0);
    }
    pos[pos.length - 1]! += y;
    neg[neg.length - 1]! += 1 - y;
  }
  const P = pos.reduce((a, b) => a + b, 0);
  return { thresholds: Float64Array.from(t), pos: Float64Array.from(pos), neg: Float64Array.from(neg), positives: P, negatives: rows.length - P };
}

function expectSame(a: ScoreGroups, b: ScoreGroups, what: string): void {
  expect(Array.from(a.thresholds), what).toEqual(Array.from(b.thresholds));
  expect(Array.from(a.pos), what).toEqual(Array.from(b.pos));
  expect(Array.from(a.neg), what).toEqual(Array.from(b.neg));
  expect([a.positives, a.negatives], what).toEqual([b.positives, b.negatives]);
}

describe('score groups (the one sort)', () => {
  const rng = new Rng('groups');

  it('packed float32 path and general float64 path both equal a comparator sort, over every kind of score', () => {
    const makers: [string, () => number][] = [
      ['probabilities', () => rng.next()],
      ['ties', () => rng.int(7) / 6],
      ['logits crossing 0', () => rng.normal(0, 10)],
      ['tiny and huge', () => (rng.bernoulli(0.5) ? -1 : 1) * 10 ** rng.uniform(-30, 30)],
      ['signed zeros and infinities', () => [0, -0, Infinity, -Infinity, 1, -1][rng.int(6)]!],
      ['negative only', () => -rng.next() * 1e-3],
    ];
    for (const [name, make] of makers) {
      for (const n of [1, 2, 17, 3000]) {
        const s64 = Array.from({ length: n }, make);
        const y = Array.from({ length: n }, () => (rng.bernoulli(0.1) ? -1 : rng.bernoulli(0.3) ? 1 : 0));
        const s32 = Float32Array.from(s64);
        expectSame(scoreGroups(s32, y), naiveGroups(s32, y), `${name} float32 n=${n}`);
        expectSame(scoreGroups(Float64Array.from(s64), y), naiveGroups(s64, y), `${name} float64 n=${n}`);
        expectSame(scoreGroups(Array.from(s32), y), naiveGroups(s32, y), `${name} float32-exact numbers n=${n}`);
      }
    }
  });

  it('columnSummary (no groups built) equals ranking and confusion read off the groups, on every path', () => {
    for (const [name, make] of [
      ['probabilities', () => Math.round(rng.next() * 200) / 200],
      ['logits', () => rng.normal(0, 8)],
    ] as [string, () => number][]) {
      const s64 = Array.from({ length: 2000 }, make);
      const y = Array.from({ length: 2000 }, () => (rng.bernoulli(0.1) ? -1 : rng.bernoulli(0.3) ? 1 : 0));
      for (const scores of [Float32Array.from(s64), Float64Array.from(s64)]) {
        for (const t of [0.5, 0, s64[7]!, -Infinity, Infinity]) {
          const sum = columnSummary(scores, y, undefined, t);
          const g = scoreGroups(scores, y);
          expect(sum.ranking, `${name} ${t}`).toEqual(ranking(g));
          expect(sum.confusion, `${name} ${t}`).toEqual(confusionAt(g, t));
          expect(sum.labelled).toBe(g.positives + g.negatives);
        }
      }
    }
  });

  it('reads columns of a row-major matrix through a view', () => {
    const C = 3;
    const scores = Float32Array.from({ length: 30 }, () => rng.next());
    const labels = Float32Array.from({ length: 30 }, () => (rng.bernoulli(0.5) ? 1 : 0));
    for (let c = 0; c < C; c++) {
      const col = (a: Float32Array) => Array.from({ length: 10 }, (_, i) => a[i * C + c]!);
      expectSame(scoreGroups(scores, labels, { offset: c, stride: C, length: 10 }), naiveGroups(col(scores), col(labels)), `column ${c}`);
    }
    expect(() => scoreGroups(scores, labels, { offset: 2, stride: 3, length: 11 })).toThrow(MedtrainError);
  });

  it('skips masked labels (any negative or NaN), counts non-binary labels and NaN scores', () => {
    const g = scoreGroups([0.9, 0.8, 0.7, 0.6, 0.5], [1, -1, NaN, 0.7, 0]);
    expect([g.labelled, g.labelledPositives, g.nonBinary, g.nanScores]).toEqual([3, 2, 1, 0]);
    const bad = scoreGroups([0.9, NaN, 0.7], [1, 0, -1]);
    expect(bad.nanScores).toBe(1);
    expect(bad.thresholds.length).toBe(0);
    expect(auroc(bad)).toBeNull();
    // A NaN score on a masked entry does not matter.
    expect(scoreGroups([0.9, NaN, 0.7], [1, -1, 0]).nanScores).toBe(0);
  });

  it('re-counting with multiplicities equals grouping the materialised resample', () => {
    const n = 500;
    const s = Float32Array.from({ length: n }, () => Math.round(rng.next() * 50) / 50);
    const y = Float32Array.from({ length: n }, () => (rng.bernoulli(0.1) ? -1 : rng.bernoulli(0.4) ? 1 : 0));
    const idx = groupIndex(s, y, scoreGroups(s, y));
    const w = Float64Array.from({ length: n }, () => rng.int(4));
    const ws: number[] = [];
    const wy: number[] = [];
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < w[i]!; k++) {
        ws.push(s[i]!);
        wy.push(y[i]!);
      }
    }
    const a = weightedGroups(idx, w);
    const b = naiveGroups(ws, wy);
    // The weighted groups keep zero-weight groups; drop them to compare.
    const keep = Array.from(a.thresholds.keys()).filter((k) => a.pos[k]! + a.neg[k]! > 0);
    expect(keep.map((k) => a.thresholds[k])).toEqual(Array.from(b.thresholds));
    expect(keep.map((k) => a.pos[k])).toEqual(Array.from(b.pos));
    expect(keep.map((k) => a.neg[k])).toEqual(Array.from(b.neg));
    expect(auroc(a)).toBe(auroc(b));
  });
});
