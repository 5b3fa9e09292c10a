/**
 * Calibration: exact ECE, Brier and reliability bins on small hand-made inputs (bin edges, masks,
 * undefined classes), their place in the multi-label report and metrics CSV, temperature scaling (the
 * fit is the NLL's minimum, thresholds keep every label); then an oracle against scikit-learn
 * (brier_score_loss, calibration_curve strategy='uniform'), a reference ECE in numpy and SciPy's
 * minimize_scalar on the same NLL, on random data with masked entries.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  applyTemperature,
  binEdges,
  brierScore,
  calibrationReport,
  evaluateMultiLabel,
  expectedCalibrationError,
  fitTemperature,
  formatEvaluation,
  reliabilityBins,
  temperatureNll,
  temperatureScale,
  type CalibrationReport,
} from '../../src/metrics/index.js';
import { METRIC_COLUMNS, metricRows } from '../../src/training/run/eval.js';
import { toCsv } from '../../src/util/csv.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { describeOracle, runPython } from '../helpers/python.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('ECE, Brier score and reliability bins', () => {
  it('exact values on a hand-made column: one case per bin, and two cases sharing a bin', () => {
    const p = [0.05, 0.25, 0.5, 0.9];
    const y = [0, 0, 1, 1];
    // Bins 0, 3, 7, 13 of 15: the gaps are 0.05, 0.25, 0.5, 0.1.
    expect(expectedCalibrationError(p, y)).toBeCloseTo(0.9 / 4, 15);
    expect(brierScore(p, y)).toBeCloseTo((0.0025 + 0.0625 + 0.25 + 0.01) / 4, 15);
    // 0.1 and 0.12 share bin 1 (1/15, 2/15]: |1 - 0.22| over 2 cases.
    expect(expectedCalibrationError([0.1, 0.12], [1, 0])).toBeCloseTo(0.39, 15);
    const bins = reliabilityBins([0.1, 0.12], [1, 0]);
    expect(bins).toHaveLength(15);
    expect(bins[1]).toEqual({ lower: 1 / 15, upper: 2 * (1 / 15), count: 2, meanPredicted: 0.11, fractionPositive: 0.5 });
    expect(bins[0]).toEqual({ lower: 0, upper: 1 / 15, count: 0, meanPredicted: null, fractionPositive: null });
    expect(bins[14]!.upper).toBe(1);
  });

  it('bins are (lower, upper]: an edge goes into the bin below it, 0 into the first bin, 1 into the last', () => {
    const e = binEdges(15);
    expect(e[0]).toBe(0);
    expect(e[15]).toBe(1);
    for (let k = 1; k < 15; k++) {
      const b = reliabilityBins([e[k]!], [1]);
      expect(b.findIndex((x) => x.count === 1), `edge ${k}`).toBe(k - 1);
      // The next float above the edge goes into bin k.
      const above = nextFloat(e[k]!, 1);
      expect(reliabilityBins([above], [1]).findIndex((x) => x.count === 1)).toBe(k);
    }
    expect(reliabilityBins([0, 1], [0, 1]).map((b) => b.count)).toEqual([1, ...new Array(13).fill(0), 1]);
    // Two bins: 0.5 is in the first.
    expect(reliabilityBins([0.5], [1], { bins: 2 }).map((b) => b.count)).toEqual([1, 0]);
    // A perfectly confident, perfectly right column is calibrated.
    expect(expectedCalibrationError([0, 1, 1], [0, 1, 1])).toBe(0);
    expect(brierScore([0, 1, 1], [0, 1, 1])).toBe(0);
    expect(() => binEdges(0)).toThrow(MedtrainError);
  });

  it('masked labels are skipped exactly: the figures equal those of the labelled cases alone', () => {
    const p = [0.3, 0.8, 0.6, 0.1, 0.95];
    const y = [1, -1, 0, -1, 1];
    expect(expectedCalibrationError(p, y)).toBe(expectedCalibrationError([0.3, 0.6, 0.95], [1, 0, 1]));
    expect(brierScore(p, y)).toBe(brierScore([0.3, 0.6, 0.95], [1, 0, 1]));
  });

  it('per class of a matrix, macro over classes with labels; undefined classes are null with a reason', () => {
    const names = ['A', 'negOnly', 'masked', 'logit', 'nan'];
    const rows = [
      [0.05, 0.2, 0.5, 2.5, 0.5],
      [0.25, 0.1, 0.5, -1, NaN],
      [0.5, 0.3, 0.5, 0.5, 0.5],
      [0.9, 0.0, 0.5, 0.5, 0.5],
    ];
    const labels = [
      [0, 0, -1, 1, 1],
      [0, 0, -1, 0, 0],
      [1, 0, -1, 1, 1],
      [1, 0, -1, 0, 0],
    ];
    const r: CalibrationReport = calibrationReport(Float32Array.from(rows.flat()), Float32Array.from(labels.flat()), 5, { classNames: names });
    expect(r.bins).toBe(15);
    expect(r.classes.A!.ece).toBeCloseTo(0.225, 7); // float32 scores
    expect(r.classes.negOnly!.brier).toBeCloseTo((0.04 + 0.01 + 0.09) / 4, 7);
    expect(r.classes.masked).toMatchObject({ ece: null, brier: null, n: 0, undefinedBecause: 'no labelled cases' });
    expect(r.classes.logit!.undefinedBecause).toMatch(/2 score\(s\) outside \[0, 1\]/);
    expect(r.classes.nan).toMatchObject({ ece: null, brier: null, undefinedBecause: '1 NaN score(s)' });
    expect(r.macro.classes).toBe(2);
    expect(r.macro.ece).toBe((r.classes.A!.ece! + r.classes.negOnly!.ece!) / 2);
    expect(r.macro.brier).toBe((r.classes.A!.brier! + r.classes.negOnly!.brier!) / 2);
    expect(() => calibrationReport([0.1, 0.2], [1], 1)).toThrow(MedtrainError);
  });

  it("evaluateMultiLabel carries ece and brier per class and macro, the reliability bins, metrics-<split>.csv's columns and the text table", () => {
    const rng = new Rng('report');
    const C = 3;
    const rows = 200;
    const scores = new Float32Array(rows * C);
    const labels = new Float32Array(rows * C);
    for (let i = 0; i < rows * C; i++) {
      const y = rng.bernoulli(0.3) ? 1 : 0;
      scores[i] = sigmoid(2 * y - 1 + rng.normal());
      labels[i] = rng.bernoulli(0.1) ? -1 : y;
    }
    const names = ['a', 'b', 'c'];
    const r = evaluateMultiLabel(scores, labels, C, { classNames: names });
    const cal = calibrationReport(scores, labels, C, { classNames: names });
    expect(r.calibration).toEqual(cal);
    for (const n of names) {
      expect(r.classes[n]!.ece).toBe(cal.classes[n]!.ece);
      expect(r.classes[n]!.brier).toBe(cal.classes[n]!.brier);
    }
    expect(r.macro.ece).toBe(cal.macro.ece);
    expect(r.macro.brier).toBe(cal.macro.brier);
    expect(evaluateMultiLabel(scores, labels, C, { classNames: names, calibrationBins: 10 }).calibration.classes.a!.bins).toHaveLength(10);
    // JSON keeps the bins (null means of empty bins included).
    const json = JSON.parse(JSON.stringify(r));
    expect(json.calibration.classes.a.bins).toHaveLength(15);
    // metrics-<split>.csv: ece and brier columns, per class and in the macro row.
    expect(METRIC_COLUMNS).toEqual(expect.arrayContaining(['ece', 'brier']));
    const csv = toCsv(metricRows(r), METRIC_COLUMNS).trim().split('\n');
    const head = csv[0]!.split(',');
    const at = (row: number, col: string) => csv[row]!.split(',')[head.indexOf(col)];
    expect(Number(at(1, 'ece'))).toBe(r.classes.a!.ece);
    expect(Number(at(4, 'brier'))).toBe(r.macro.brier); // macro row
    expect(at(5, 'ece')).toBe(''); // micro: none
    const text = formatEvaluation({ ...r, predictions: 'p', labels: 'l', thresholdMethod: '0.5', thresholdSource: 'fixed', thresholdFallback: [], ignoredLabelColumns: [] });
    expect(text).toMatch(/ECE\s+Brier/);
    expect(text).toMatch(/ECE: 15 equal-width bins; macro ECE and Brier over 3 class\(es\)/);
  });
});

describe('temperature scaling', () => {
  /** Over-confident predictions: p = sigmoid(z) while the truth is sigmoid(z / 2.5). */
  function overconfident(n: number, seed: string, mask = 0): { p: Float64Array; y: Float64Array } {
    const rng = new Rng(seed);
    const p = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = 4 * rng.normal();
      p[i] = sigmoid(z);
      y[i] = rng.bernoulli(mask) ? -1 : rng.bernoulli(sigmoid(z / 2.5)) ? 1 : 0;
    }
    return { p, y };
  }

  it('recovers the temperature of over-confident predictions, and the fit is the minimum of the NLL', () => {
    const { p, y } = overconfident(20000, 'over', 0.1);
    const f = fitTemperature(p, y);
    expect(f.kept).toBeUndefined();
    expect(f.temperature).toBeGreaterThan(2.3);
    expect(f.temperature).toBeLessThan(2.7);
    expect(f.n).toBe(Array.from(y).filter((v) => v >= 0).length);
    const T = f.temperature;
    const nll = (t: number) => temperatureNll(p, y, t)!;
    expect(f.nllAfter).toBeCloseTo(nll(T), 12);
    expect(f.nllBefore).toBeCloseTo(nll(1), 12);
    expect(nll(T)).toBeLessThan(nll(1));
    expect(nll(T)).toBeLessThan(nll(T * 1.1));
    expect(nll(T)).toBeLessThan(nll(T / 1.1));
    expect(nll(T)).toBeLessThanOrEqual(nll(T * (1 + 1e-6)));
    expect(nll(T)).toBeLessThanOrEqual(nll(T / (1 + 1e-6)));
    // Calibrated: ECE drops.
    const after = applyTemperature(p, T);
    expect(expectedCalibrationError(after, y)!).toBeLessThan(expectedCalibrationError(p, y)! / 3);
  });

  it('under-confident predictions get T < 1; a view fits one column of a matrix', () => {
    const rng = new Rng('under');
    const rows = 5000;
    const m = new Float64Array(rows * 2);
    const y = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      const z = 2 * rng.normal();
      m[i * 2] = sigmoid(z / 3); // column 0: under-confident by 3
      y[i * 2] = rng.bernoulli(sigmoid(z)) ? 1 : 0;
      m[i * 2 + 1] = 0.5;
      y[i * 2 + 1] = 1;
    }
    const f = fitTemperature(m, y, { offset: 0, stride: 2, length: rows });
    expect(f.temperature).toBeGreaterThan(0.3);
    expect(f.temperature).toBeLessThan(0.37);
    expect(f.n).toBe(rows);
    expect(fitTemperature(m, y, { offset: 1, stride: 2, length: rows })).toMatchObject({ temperature: 1, kept: 'no negative labels' });
  });

  it('keeps T = 1, with the reason, where the fit is undefined; the limits when the optimum is unbounded', () => {
    expect(fitTemperature([0.2, 0.7], [0, 0])).toMatchObject({ temperature: 1, kept: 'no positive labels', n: 2 });
    expect(fitTemperature([0.2, 0.7], [-1, -1])).toMatchObject({ temperature: 1, kept: 'no labelled cases', nllBefore: null });
    expect(fitTemperature([0.5, 0.5], [0, 1])).toMatchObject({ temperature: 1, kept: 'every prediction is 0.5' });
    expect(fitTemperature([NaN, 0.5], [0, 1]).kept).toBe('1 NaN prediction(s)');
    // Perfectly separated: sharpen to the limit. Anti-correlated: flatten to the limit.
    expect(fitTemperature([0.4, 0.6], [0, 1])).toMatchObject({ temperature: 1e-3, atLimit: true });
    expect(fitTemperature([0.6, 0.4], [0, 1])).toMatchObject({ temperature: 1e3, atLimit: true });
  });

  it('apply: T = 1 is the identity, 0.5 is fixed, logit / T exactly; per class in a matrix; monotone thresholds keep every label', () => {
    expect(temperatureScale(0.8, 1)).toBe(0.8);
    expect(temperatureScale(0, 1)).toBe(0);
    expect(temperatureScale(0.5, 3)).toBe(0.5);
    expect(temperatureScale(sigmoid(2), 2)).toBeCloseTo(sigmoid(1), 14);
    // Clamped before the logit: 0 and 1 stay finite.
    expect(temperatureScale(0, 2)).toBeCloseTo(sigmoid(Math.log(1e-7 / (1 - 1e-7)) / 2), 12);
    expect(temperatureScale(1, 2)).toBeLessThan(1);
    const m = applyTemperature([sigmoid(2), sigmoid(2), sigmoid(-3), sigmoid(-3)], [2, 1]);
    expect(m[0]).toBeCloseTo(sigmoid(1), 14);
    expect(m[1]).toBe(sigmoid(2));
    expect(m[2]).toBeCloseTo(sigmoid(-1.5), 14);
    expect(() => applyTemperature([0.1, 0.2, 0.3], [1, 2])).toThrow(MedtrainError);
    expect(() => applyTemperature([0.1], 0)).toThrow(/positive finite/);

    const rng = new Rng('mono');
    const p = Float32Array.from({ length: 20000 }, () => rng.next());
    for (const T of [0.2, 0.7, 1.3, 4, 40]) {
      for (const t of [0.5, p[7]!, p[99]!, 0.03, 0.97]) {
        const tc = temperatureScale(t, T);
        const after = applyTemperature(p, T);
        let changed = 0;
        for (let i = 0; i < p.length; i++) if (p[i]! >= t !== after[i]! >= tc) changed++;
        expect(changed, `T ${T}, t ${t}`).toBe(0);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Oracle

const PY = String.raw`
import json, sys, warnings
import numpy as np
from sklearn.metrics import brier_score_loss
from sklearn.calibration import calibration_curve
from scipy.optimize import minimize_scalar
warnings.simplefilter('ignore')
inp = json.load(sys.stdin)
B = inp['bins']

def ece_reference(p, y, bins):
    # Guo et al. 2017: bins (lo, hi], p = 0 in the first.
    edges = np.linspace(0.0, 1.0, bins + 1)
    n = len(p)
    total = 0.0
    for k in range(bins):
        lo, hi = edges[k], edges[k + 1]
        inb = (p > lo) & (p <= hi)
        if k == 0:
            inb |= (p == 0)
        m = inb.sum()
        if m:
            total += (m / n) * abs(y[inb].mean() - p[inb].mean())
    return total

def fit_t(p, y):
    q = np.clip(p, 1e-7, 1 - 1e-7)
    z = np.log(q) - np.log1p(-q)
    def nll(u):
        x = z * np.exp(-u)
        return np.mean(np.logaddexp(0.0, x) - y * x)
    r = minimize_scalar(nll, method='brent', options={'xtol': 1e-12})
    return float(np.exp(r.x)), float(r.fun)

out = []
for c in inp['columns']:
    p = np.array(c['p'], dtype=np.float64)
    y = np.array(c['y'], dtype=np.float64)
    r = {'n': len(p)}
    if len(p):
        r['brier'] = float(brier_score_loss(y, p))
        r['ece'] = float(ece_reference(p, y, B))
        prob_true, prob_pred = calibration_curve(y, p, n_bins=B, strategy='uniform')
        r['fraction'] = prob_true.tolist()
        r['mean'] = prob_pred.tolist()
        if 0 < y.sum() < len(y):
            r['T'], r['nll'] = fit_t(p, y)
    out.append(r)
print(json.dumps(out))
`;

interface PyColumn {
  n: number;
  brier?: number;
  ece?: number;
  fraction?: number[];
  mean?: number[];
  T?: number;
  nll?: number;
}

interface OracleMatrix {
  f32: boolean;
  rows: number;
  classes: number;
  scores: Float32Array | Float64Array;
  labels: Float32Array;
}

/** The float64 next to x, above (dir 1) or below (dir -1); x > 0. */
function nextFloat(x: number, dir: 1 | -1): number {
  const b = new BigInt64Array(Float64Array.of(x).buffer);
  b[0] = b[0]! + BigInt(dir);
  return new Float64Array(b.buffer)[0]!;
}

/** Random matrices: masks, exact 0 / 1 / bin edges, ties, a negatives-only class, over- and under-confident classes. */
function matrices(rng: Rng): OracleMatrix[] {
  const out: OracleMatrix[] = [];
  const edges = binEdges(15);
  for (let i = 0; i < 6; i++) {
    const f32 = i % 2 === 0;
    const rows = 30 + rng.int(i === 0 ? 3000 : 400);
    const C = 2 + rng.int(4);
    const scores = f32 ? new Float32Array(rows * C) : new Float64Array(rows * C);
    const labels = new Float32Array(rows * C);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < C; c++) {
        const j = r * C + c;
        const z = 3 * rng.normal();
        const scale = [0.4, 1, 2.5, 6][c % 4]!;
        let p = sigmoid(z);
        const u = rng.next();
        if (!f32 && u < 0.05) p = edges[rng.int(16)]!; // exactly on an edge
        else if (!f32 && u < 0.1) p = nextFloat(edges[1 + rng.int(14)]!, rng.bernoulli(0.5) ? 1 : -1); // one ulp off one
        else if (u < 0.13) p = rng.bernoulli(0.5) ? 0 : 1;
        else if (i === 3) p = Math.round(p * 20) / 20; // ties
        scores[j] = p;
        const y = c === C - 1 && i % 3 === 0 ? 0 : rng.bernoulli(sigmoid(z / scale)) ? 1 : 0;
        labels[j] = rng.bernoulli(i % 2 ? 0.2 : 0.05) ? -1 : y;
      }
    }
    out.push({ f32, rows, classes: C, scores, labels });
  }
  return out;
}

function labelledColumn(m: OracleMatrix, c: number): { p: number[]; y: number[] } {
  const p: number[] = [];
  const y: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    const l = m.labels[r * m.classes + c]!;
    if (l < 0) continue;
    p.push(m.scores[r * m.classes + c]!);
    y.push(l);
  }
  return { p, y };
}

describeOracle('calibration against scikit-learn, a numpy ECE and SciPy', ['numpy', 'sklearn', 'scipy'], () => {
  const mats = matrices(new Rng('calibration-oracle'));
  const columns = mats.flatMap((m) => Array.from({ length: m.classes }, (_, c) => labelledColumn(m, c)));
  let py: PyColumn[];
  beforeAll(() => {
    py = runPython<PyColumn[]>(PY, { bins: 15, columns }, { timeoutMs: 120_000 });
  }, 120_000);

  it('Brier score equals brier_score_loss, ECE the numpy reference, the reliability bins calibration_curve (1e-12)', () => {
    let k = 0;
    let compared = 0;
    for (const m of mats) {
      const r = calibrationReport(m.scores, m.labels, m.classes);
      for (let c = 0; c < m.classes; c++, k++) {
        const o = py[k]!;
        const mine = r.classes[`class_${c}`]!;
        expect(mine.n).toBe(o.n);
        if (!o.n) continue;
        expect(Math.abs(mine.brier! - o.brier!), `brier ${k}`).toBeLessThan(1e-12);
        expect(Math.abs(mine.ece! - o.ece!), `ece ${k}`).toBeLessThan(1e-12);
        const filled = mine.bins.filter((b) => b.count > 0);
        expect(filled.length, `bins ${k}`).toBe(o.fraction!.length);
        filled.forEach((b, i) => {
          expect(Math.abs(b.fractionPositive! - o.fraction![i]!)).toBeLessThan(1e-12);
          expect(Math.abs(b.meanPredicted! - o.mean![i]!)).toBeLessThan(1e-12);
        });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(15);
  });

  it("the fitted temperature equals SciPy's minimize_scalar on the same NLL (1e-4 relative)", () => {
    let k = 0;
    let fitted = 0;
    for (const m of mats) {
      for (let c = 0; c < m.classes; c++, k++) {
        const f = fitTemperature(m.scores, m.labels, { offset: c, stride: m.classes, length: m.rows });
        const o = py[k]!;
        if (o.T === undefined) {
          expect(f.kept, `column ${k}`).toBeDefined();
          continue;
        }
        expect(f.kept).toBeUndefined();
        expect(Math.abs(f.temperature / o.T - 1), `T ${k}: ${f.temperature} vs ${o.T}`).toBeLessThan(1e-4);
        expect(f.nllAfter!).toBeLessThanOrEqual(o.nll! + 1e-12);
        fitted++;
      }
    }
    expect(fitted).toBeGreaterThan(10);
  });
});
