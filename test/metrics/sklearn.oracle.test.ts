/**
 * medtrain's metrics against scikit-learn (and SciPy, and a textbook DeLong) on hundreds of random
 * cases with ties, masks, single-valued label columns, float32 and float64 scores and sample
 * weights; everything must agree within 1e-9. One Python round trip for the whole suite.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { describeOracle, runPython } from '../helpers/python.js';
import { Rng } from '../../src/util/rng.js';
import {
  auroc,
  auprc,
  averagePrecision,
  chooseThreshold,
  confusionAt,
  delongTest,
  erfc,
  evaluateMultiLabel,
  groupIndex,
  normalQuantile,
  precisionRecallCurve,
  rocCurve,
  scoreGroups,
  thresholdScores,
  weightedGroups,
  type ZeroDivision,
} from '../../src/metrics/index.js';

const TOL = 1e-9;
const oracleSource = readFileSync(new URL('./sklearn_oracle.py', import.meta.url), 'utf8');

interface BinaryCase {
  scores: number[];
  labels: number[];
  weights: number[];
  threshold: number;
  f32: boolean;
  /** Also compare with sample weights (bootstrap multiplicities). */
  checkWeights: boolean;
}

/** Hundreds of binary cases: sizes 1..~2000, ties from 2 distinct scores to none, masks, single-valued labels, logits. */
function binaryCases(rng: Rng, count: number): BinaryCase[] {
  const cases: BinaryCase[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + rng.int(i % 25 === 0 ? 2000 : i % 3 === 0 ? 12 : 150);
    const levels = [2, 3, 10, 50, 0][i % 5]!;
    const prevalence = i % 11 === 0 ? 0 : i % 13 === 0 ? 1 : 0.05 + 0.9 * rng.next();
    const maskRate = i % 4 === 0 ? 0.2 : 0;
    const logits = i % 6 === 5;
    const f32 = i % 2 === 0;
    const scores: number[] = [];
    const labels: number[] = [];
    const weights: number[] = [];
    for (let k = 0; k < n; k++) {
      const y = rng.bernoulli(prevalence) ? 1 : 0;
      let s = Math.min(1, Math.max(0, rng.next() * 0.8 + 0.35 * y * rng.next()));
      if (levels) s = Math.round(s * levels) / levels;
      if (logits) s = (s - 0.5) * 30;
      if (f32) s = Math.fround(s);
      scores.push(s);
      labels.push(rng.bernoulli(maskRate) ? -1 : y);
      weights.push(rng.int(4));
    }
    const threshold = i % 3 === 0 ? (logits ? 0 : 0.5) : scores[rng.int(n)]!;
    cases.push({ scores, labels, weights, threshold, f32, checkWeights: i % 3 !== 1 });
  }
  return cases;
}

interface MultiCase {
  classes: number;
  scores: number[];
  labels: number[];
  thresholds: number[];
}

function multiCases(rng: Rng): MultiCase[] {
  const out: MultiCase[] = [];
  for (let i = 0; i < 12; i++) {
    const C = 2 + rng.int(6);
    const rows = 20 + rng.int(400);
    const masked = i % 2 === 1;
    const scores: number[] = [];
    const labels: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < C; c++) {
        const y = rng.bernoulli(0.1 + 0.1 * c) ? 1 : 0;
        scores.push(Math.round((rng.next() * 0.7 + 0.3 * y) * 40) / 40);
        labels.push(masked && rng.bernoulli(0.15) ? -1 : y);
      }
    }
    // Every class needs both labels for sklearn's multi-label averages.
    for (let c = 0; c < C; c++) {
      labels[c] = 1;
      labels[C + c] = 0;
    }
    out.push({ classes: C, scores, labels, thresholds: Array.from({ length: C }, () => Math.round(rng.next() * 10) / 10) });
  }
  return out;
}

function delongCases(rng: Rng): { a: number[]; b: number[]; labels: number[] }[] {
  const out = [];
  for (let i = 0; i < 20; i++) {
    const n = 10 + rng.int(300);
    const a: number[] = [];
    const b: number[] = [];
    const labels: number[] = [];
    const levels = i % 3 === 0 ? 8 : 0;
    for (let k = 0; k < n; k++) {
      const y = rng.bernoulli(0.3) ? 1 : 0;
      const shared = rng.normal();
      let sa = shared + 1.2 * y + rng.normal();
      let sb = 0.7 * shared + 0.8 * y + rng.normal();
      if (levels) {
        sa = Math.round(sa * 2);
        sb = Math.round(sb * 2);
      }
      a.push(sa);
      b.push(sb);
      labels.push(i % 4 === 1 && rng.bernoulli(0.1) ? -1 : y);
    }
    labels[0] = 1;
    labels[1] = 0;
    labels[2] = 1;
    labels[3] = 0;
    out.push({ a, b, labels });
  }
  return out;
}

type Num = number | null | 'inf' | '-inf';
const val = (x: Num | undefined): number | null => (x === 'inf' ? Infinity : x === '-inf' ? -Infinity : (x ?? null));

function close(actual: number | null, expected: Num | undefined, what: string, tol = TOL): void {
  const e = val(expected);
  if (e === null || actual === null) {
    expect(actual, what).toBe(e);
    return;
  }
  if (!Number.isFinite(e)) {
    expect(actual, what).toBe(e);
    return;
  }
  expect(Math.abs(actual - e), `${what}: ${actual} vs ${e}`).toBeLessThanOrEqual(tol);
}

function closeArray(actual: ArrayLike<number>, expected: Num[], what: string): void {
  expect(actual.length, `${what} length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) close(Number.isNaN(actual[i]!) ? null : actual[i]!, expected[i], `${what}[${i}]`);
}

describeOracle('metrics against scikit-learn', ['numpy', 'scipy', 'sklearn'], () => {
  const rng = new Rng('sklearn-oracle');
  const binary = binaryCases(rng, 300);
  const multi = multiCases(rng);
  const delong = delongCases(rng);
  const erfcPoints = [-3, -1.5, -0.3, 0, 1e-8, 0.1, 0.5, 1, 1.5, 1.99, 2, 2.01, 2.5, 3, 4, 5.5, 8, 12, 26];
  const ppfPoints = [1e-10, 1e-4, 0.01, 0.02425, 0.025, 0.1, 0.3, 0.5, 0.7, 0.975, 0.99, 1 - 1e-6];
  let py: {
    binary: Record<string, any>[];
    atThreshold: Record<string, Record<string, Num>[]>;
    multilabel: Record<string, any>[];
    delong: Record<string, number>[];
    erfc: number[];
    ppf: number[];
  };

  beforeAll(() => {
    py = runPython(oracleSource, { binary, multilabel: multi, delong, erfc: erfcPoints, ppf: ppfPoints });
  });

  it('covers the hard cases', () => {
    expect(binary.length).toBeGreaterThanOrEqual(300);
    expect(py.binary.filter((c) => c.auroc === null && c.n > 0).length).toBeGreaterThan(20); // single-valued columns
    expect(binary.filter((c) => c.labels.includes(-1)).length).toBeGreaterThan(50);
    expect(binary.filter((c) => new Set(c.scores).size < c.scores.length / 2).length).toBeGreaterThan(100); // heavy ties
  });

  it('AUROC, average precision and AUPRC equal roc_auc_score, average_precision_score and auc(precision_recall_curve)', () => {
    binary.forEach((c, i) => {
      const input = c.f32 ? Float32Array.from(c.scores) : c.scores;
      const g = scoreGroups(input, c.labels);
      const o = py.binary[i]!;
      expect(g.positives + g.negatives).toBe(o.n);
      close(auroc(g), o.auroc, `case ${i} auroc`);
      close(averagePrecision(g), o.ap, `case ${i} ap`);
      close(auprc(g), o.auprc, `case ${i} auprc`);
    });
  });

  it('ROC and PR curves equal roc_curve (drop_intermediate on and off) and precision_recall_curve point for point', () => {
    binary.forEach((c, i) => {
      const g = scoreGroups(c.scores, c.labels);
      const o = py.binary[i]!;
      if (o.roc) {
        const r = rocCurve(g);
        closeArray(r.fpr, o.roc.fpr, `case ${i} fpr`);
        closeArray(r.tpr, o.roc.tpr, `case ${i} tpr`);
        closeArray(r.thresholds, o.roc.thresholds, `case ${i} roc thresholds`);
        const full = rocCurve(g, { dropIntermediate: false });
        closeArray(full.thresholds, o.roc_full.thresholds, `case ${i} full roc thresholds`);
        closeArray(full.tpr, o.roc_full.tpr, `case ${i} full tpr`);
      }
      if (o.pr) {
        const p = precisionRecallCurve(g);
        closeArray(p.precision, o.pr.precision, `case ${i} precision curve`);
        closeArray(p.recall, o.pr.recall, `case ${i} recall curve`);
        closeArray(p.thresholds, o.pr.thresholds, `case ${i} pr thresholds`);
      }
    });
  });

  it('precision, recall, specificity, F1, F2 and accuracy at a threshold equal precision_recall_fscore_support for every zero_division', () => {
    const settings: [string, ZeroDivision][] = [
      ['nan', null],
      ['zero', 0],
      ['one', 1],
    ];
    binary.forEach((c, i) => {
      const o = py.binary[i]!;
      if (!o.n) return;
      const g = scoreGroups(c.f32 ? Float32Array.from(c.scores) : c.scores, c.labels);
      const conf = confusionAt(g, c.threshold);
      close(thresholdScores(conf).accuracy, o.accuracy, `case ${i} accuracy`);
      for (const [key, zd] of settings) {
        const s = thresholdScores(conf, { betas: [1, 2], zeroDivision: zd });
        const e = py.atThreshold[key]![i]!;
        close(s.precision, e.precision!, `case ${i} ${key} precision`);
        close(s.recall, e.recall, `case ${i} ${key} recall`);
        close(s.specificity, e.specificity, `case ${i} ${key} specificity`);
        close(s.fbeta.f1!, e.f1, `case ${i} ${key} f1`);
        close(s.fbeta.f2!, e.f2, `case ${i} ${key} f2`);
      }
    });
  });

  it('operating thresholds (Youden, tpr = 1 − fpr, max F1, max F2) equal an exact search over sklearn’s curve', () => {
    let chosen = 0;
    binary.forEach((c, i) => {
      const o = py.binary[i]!;
      if (!o.n) return;
      const g = scoreGroups(c.scores, c.labels);
      close(chooseThreshold(g, 'youden'), o.thresholds.youden, `case ${i} youden`);
      close(chooseThreshold(g, 'balanced'), o.thresholds.balanced, `case ${i} balanced`);
      close(chooseThreshold(g, 'f1'), o.thresholds.f1, `case ${i} f1`);
      close(chooseThreshold(g, { fbeta: 2 }), o.thresholds.f2, `case ${i} f2`);
      if (o.thresholds.youden !== null) chosen++;
    });
    expect(chosen).toBeGreaterThan(200);
  });

  it('re-counting presorted groups with bootstrap multiplicities equals sklearn with sample_weight', () => {
    let checked = 0;
    binary.forEach((c, i) => {
      const o = py.binary[i]!;
      if (o.w_auroc === undefined) return;
      const g = scoreGroups(c.scores, c.labels);
      const w = weightedGroups(groupIndex(c.scores, c.labels, g), c.weights);
      close(auroc(w), o.w_auroc, `case ${i} weighted auroc`);
      close(averagePrecision(w), o.w_ap, `case ${i} weighted ap`);
      close(auprc(w), o.w_auprc, `case ${i} weighted auprc`);
      checked++;
    });
    expect(checked).toBeGreaterThan(100);
  });

  it('multi-label macro / micro / weighted aggregates equal sklearn’s averages (masked entries left out of micro)', () => {
    multi.forEach((m, i) => {
      const r = evaluateMultiLabel(m.scores, m.labels, m.classes, { thresholds: m.thresholds });
      const o = py.multilabel[i]!;
      close(r.micro.auroc, o.micro_auroc, `matrix ${i} micro auroc`);
      close(r.micro.ap, o.micro_ap, `matrix ${i} micro ap`);
      close(r.micro.auprc, o.micro_auprc, `matrix ${i} micro auprc`);
      close(r.micro.precision, o.micro_prf[0], `matrix ${i} micro precision`);
      close(r.micro.recall, o.micro_prf[1], `matrix ${i} micro recall`);
      close(r.micro.f1, o.micro_prf[2], `matrix ${i} micro f1`);
      close(r.micro.accuracy, o.micro_accuracy, `matrix ${i} micro accuracy`);
      if (o.macro_auroc_sk !== undefined) {
        for (const [avg, agg] of [
          ['macro', r.macro],
          ['weighted', r.weighted],
          ['micro', r.micro],
        ] as const) {
          close(agg.auroc, o[`${avg}_auroc_sk`], `matrix ${i} ${avg} auroc`);
          close(agg.ap, o[`${avg}_ap_sk`], `matrix ${i} ${avg} ap`);
          const prf = o[`${avg}_prf_sk`];
          close(agg.precision, prf[0], `matrix ${i} ${avg} precision`);
          close(agg.recall, prf[1], `matrix ${i} ${avg} recall`);
          close(agg.f1, prf[2], `matrix ${i} ${avg} f1`);
          close(agg.f2, prf[3], `matrix ${i} ${avg} f2`);
        }
      }
    });
    expect(py.multilabel.filter((o) => o.macro_auroc_sk !== undefined).length).toBeGreaterThanOrEqual(5);
  });

  it('the fast midrank DeLong test equals the textbook O(P·N) DeLong', () => {
    delong.forEach((d, i) => {
      const t = delongTest(d.a, d.b, d.labels);
      const o = py.delong[i]!;
      close(t.a.auc, o.aucA!, `delong ${i} aucA`);
      close(t.b.auc, o.aucB!, `delong ${i} aucB`);
      close(t.a.variance, o.varA!, `delong ${i} varA`, 1e-12);
      close(t.b.variance, o.varB!, `delong ${i} varB`, 1e-12);
      close(t.covariance, o.cov!, `delong ${i} cov`, 1e-12);
      close(t.variance, o.var!, `delong ${i} var`, 1e-12);
      close(t.z, o.z!, `delong ${i} z`);
      close(t.p, o.p!, `delong ${i} p`);
    });
  });

  it('erfc and the normal quantile equal SciPy', () => {
    erfcPoints.forEach((x, i) => {
      const e = py.erfc[i]!;
      expect(Math.abs(erfc(x) - e), `erfc(${x})`).toBeLessThanOrEqual(1e-14 * Math.max(1, e) + 1e-300);
      if (e > 0) expect(Math.abs(erfc(x) - e) / e, `erfc(${x}) relative`).toBeLessThan(1e-12);
    });
    ppfPoints.forEach((p, i) => expect(Math.abs(normalQuantile(p) - py.ppf[i]!), `ppf(${p})`).toBeLessThan(1e-12));
  });
});
