import { describe, expect, it } from 'vitest';
import { bootstrapReport, delongTest, evaluateMultiLabel, quantile, scoreGroups, auroc } from '../../src/metrics/index.js';
import { drawMultiplicities } from '../../src/metrics/bootstrap.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

function dataset(seed: string, rows: number, C: number): { scores: Float32Array; labels: Float32Array; patients: string[] } {
  const rng = new Rng(seed);
  const scores = new Float32Array(rows * C);
  const labels = new Float32Array(rows * C);
  const patients: string[] = [];
  for (let i = 0; i < rows; i++) {
    patients.push(`p${Math.floor(i / 3)}`);
    for (let c = 0; c < C; c++) {
      const y = rng.bernoulli(0.3) ? 1 : 0;
      labels[i * C + c] = rng.bernoulli(0.05) ? -1 : y;
      scores[i * C + c] = Math.round((0.6 * rng.next() + 0.4 * y) * 100) / 100;
    }
  }
  return { scores, labels, patients };
}

describe('bootstrap intervals', () => {
  const d = dataset('boot', 240, 3);
  const names = ['a', 'b', 'c'];

  it('are reproducible from the seed and change with it', () => {
    const a = bootstrapReport(d.scores, d.labels, 3, { classNames: names, rng: new Rng(7), replicates: 200 });
    const b = bootstrapReport(d.scores, d.labels, 3, { classNames: names, rng: new Rng(7), replicates: 200 });
    const c = bootstrapReport(d.scores, d.labels, 3, { classNames: names, rng: new Rng(8), replicates: 200 });
    expect(a).toEqual(b);
    expect(a.classes.a!.auroc).not.toEqual(c.classes.a!.auroc);
  });

  it('a replicate equals evaluating the materialised resample', () => {
    const B = 1;
    const res = bootstrapReport(d.scores, d.labels, 3, { classNames: names, rng: new Rng('one'), replicates: B, thresholds: [0.4, 0.5, 0.6] });
    // Draw the same multiplicities and build the resample explicitly.
    const w = new Float64Array(240);
    drawMultiplicities(new Rng('one'), 240, null, 240, w, new Float64Array(240));
    const s: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 240; i++) {
      for (let k = 0; k < w[i]!; k++) {
        for (let c = 0; c < 3; c++) {
          s.push(d.scores[i * 3 + c]!);
          y.push(d.labels[i * 3 + c]!);
        }
      }
    }
    const r = evaluateMultiLabel(Float32Array.from(s), Float32Array.from(y), 3, { classNames: names, thresholds: [0.4, 0.5, 0.6] });
    for (const n of names) {
      for (const k of ['auroc', 'ap', 'auprc', 'precision', 'recall', 'specificity', 'f1', 'f2', 'accuracy'] as const) {
        const iv = res.classes[n]![k]!;
        expect(iv.low, `${n} ${k}`).toBeCloseTo(r.classes[n]![k]!, 12);
        expect(iv.high).toBe(iv.low);
      }
    }
    for (const k of ['auroc', 'ap', 'f1', 'accuracy'] as const) {
      expect(res.macro[k]!.low, `macro ${k}`).toBeCloseTo(r.macro[k]!, 12);
      expect(res.micro[k]!.low, `micro ${k}`).toBeCloseTo(r.micro[k]!, 12);
    }
  });

  it('cover the point estimate and narrow with more cases', () => {
    const full = evaluateMultiLabel(d.scores, d.labels, 3, { classNames: names });
    const res = bootstrapReport(d.scores, d.labels, 3, { classNames: names, rng: new Rng(1), replicates: 400 });
    for (const n of names) {
      const iv = res.classes[n]!.auroc!;
      expect(iv.valid).toBe(400);
      expect(iv.low!).toBeLessThan(full.classes[n]!.auroc!);
      expect(iv.high!).toBeGreaterThan(full.classes[n]!.auroc!);
    }
    const big = dataset('boot-big', 2400, 3);
    const wide = res.macro.auroc!;
    const narrow = bootstrapReport(big.scores, big.labels, 3, { rng: new Rng(1), replicates: 200 }).macro.auroc!;
    expect(narrow.high! - narrow.low!).toBeLessThan((wide.high! - wide.low!) * 0.6);
  });

  it('resampling by patient keeps a patient’s cases together', () => {
    const rng = new Rng('g');
    const groupOf = Int32Array.from({ length: 12 }, (_, i) => Math.floor(i / 3));
    const w = new Float64Array(12);
    for (let rep = 0; rep < 20; rep++) {
      drawMultiplicities(rng, 12, groupOf, 4, w, new Float64Array(4));
      for (let i = 0; i < 12; i++) expect(w[i]).toBe(w[groupOf[i]! * 3]);
      expect(w.reduce((a, b) => a + b, 0)).toBe(12);
    }
    const res = bootstrapReport(d.scores, d.labels, 3, { rng: new Rng(2), replicates: 50, groups: d.patients });
    expect(res.resampling).toBe('group');
    expect(res.units).toBe(80);
    expect(() => bootstrapReport(d.scores, d.labels, 3, { rng: new Rng(2), groups: ['x'] })).toThrow(/1 group ids for 240 rows/);
  });

  it('replicates without positives leave the figure undefined there and count what remains', () => {
    // 2 positives among 40 cases: many replicates draw none.
    const s = Float32Array.from({ length: 40 }, (_, i) => i / 40);
    const y = Float32Array.from({ length: 40 }, (_, i) => (i >= 38 ? 1 : 0));
    const res = bootstrapReport(s, y, 1, { rng: new Rng(3), replicates: 300 });
    const iv = res.classes.class_0!.auroc!;
    expect(iv.valid).toBeLessThan(300);
    expect(iv.valid).toBeGreaterThan(200);
    expect(res.classes.class_0!.specificity!.valid).toBe(300);
  });

  it('quantiles follow NumPy’s linear interpolation', () => {
    const v = Float64Array.from([1, 2, 3, 4]);
    expect(quantile(v, 0.5)).toBe(2.5);
    expect(quantile(v, 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile(new Float64Array(0), 0.5)).toBeNull();
    expect(() => bootstrapReport(d.scores, d.labels, 3, { rng: new Rng(1), replicates: 0 })).toThrow(MedtrainError);
  });
});

describe('DeLong test', () => {
  const rng = new Rng('delong');
  const n = 300;
  const y = Array.from({ length: n }, () => (rng.bernoulli(0.3) ? 1 : 0));
  const a = y.map((v) => v * 1.5 + rng.normal());
  const b = y.map((v) => v * 0.5 + rng.normal());

  it('AUROCs equal auroc(); a better model gives a positive z and a small p', () => {
    const t = delongTest(a, b, y);
    expect(t.a.auc).toBeCloseTo(auroc(scoreGroups(a, y))!, 12);
    expect(t.b.auc).toBeCloseTo(auroc(scoreGroups(b, y))!, 12);
    expect(t.z!).toBeGreaterThan(2);
    expect(t.p!).toBeLessThan(0.05);
    expect(t.ci![0]).toBeLessThan(t.difference!);
    expect(t.ci![1]).toBeGreaterThan(t.difference!);
    const swapped = delongTest(b, a, y);
    expect(swapped.z).toBeCloseTo(-t.z!, 12);
    expect(swapped.p).toBeCloseTo(t.p!, 12);
  });

  it('a model against itself: z 0, p 1; degenerate cases are null, not numbers', () => {
    const same = delongTest(a, a, y);
    expect(same.z).toBe(0);
    expect(same.p).toBe(1);
    const perfect = y.map((v) => v);
    const constant = y.map(() => 0.5);
    const pc = delongTest(perfect, constant, y);
    expect(pc.difference).toBe(0.5);
    expect(pc.z).toBe(Infinity);
    expect(pc.p).toBe(0);
    const onePositive = delongTest([0.1, 0.9, 0.5], [0.2, 0.3, 0.4], [0, 1, 0]);
    expect(onePositive.a.auc).toBe(1);
    expect(onePositive.z).toBeNull();
    expect(onePositive.p).toBeNull();
    const noPositive = delongTest([0.1, 0.2], [0.3, 0.4], [0, 0]);
    expect(noPositive.a.auc).toBeNull();
    expect(() => delongTest([0.1], [0.1, 0.2], [0, 1])).toThrow(MedtrainError);
    expect(() => delongTest([NaN, 0.2], [0.1, 0.2], [0, 1])).toThrow(/NaN/);
  });

  it('masked cases are left out', () => {
    const masked = y.map((v, i) => (i % 10 === 0 ? -1 : v));
    const kept = y.map((_, i) => i).filter((i) => i % 10 !== 0);
    const t1 = delongTest(a, b, masked);
    const t2 = delongTest(kept.map((i) => a[i]!), kept.map((i) => b[i]!), kept.map((i) => y[i]!));
    expect(t1.z).toBeCloseTo(t2.z!, 12);
    expect(t1.positives).toBe(t2.positives);
  });
});
