import { availableParallelism } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { PARALLEL_MIN_ELEMENTS, columnSummary, startMetricsHelper, summarizeColumns, type ColumnSummary } from '../../src/metrics/index.js';
import { helperJobsDone } from '../../src/metrics/columns-helper.js';
import { thresholdKey } from '../../src/metrics/radix.js';
import { addLogSink } from '../../src/util/logger.js';
import { Rng } from '../../src/util/rng.js';

type Labels = Uint8Array | Int8Array | Float32Array | Float64Array | number[];

/** The reference: one column at a time through columnSummary, and the confusion counted directly. */
function reference(scores: Float32Array, labels: ArrayLike<number>, C: number, thresholds: number[]): ColumnSummary[] {
  const rows = scores.length / C;
  return thresholds.map((t, c) => {
    const s = columnSummary(scores, labels, { offset: c, stride: C, length: rows }, t);
    if (s.nanScores) return s;
    const conf = { tp: 0, fp: 0, tn: 0, fn: 0 };
    for (let i = 0; i < rows; i++) {
      const y = labels[i * C + c]!;
      if (!(y >= 0)) continue;
      const pos = y >= 0.5;
      const hit = scores[i * C + c]! >= t;
      if (pos && hit) conf.tp++;
      else if (pos) conf.fn++;
      else if (hit) conf.fp++;
      else conf.tn++;
    }
    return { ...s, confusion: conf };
  });
}

function expectSame(got: ColumnSummary[], want: ColumnSummary[], what: string): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, c) => {
    const w = want[c]!;
    const at = `${what}, class ${c}`;
    expect({ labelled: g.labelled, positives: g.labelledPositives, nonBinary: g.nonBinary, nan: g.nanScores, confusion: g.confusion }, at).toEqual({
      labelled: w.labelled,
      positives: w.labelledPositives,
      nonBinary: w.nonBinary,
      nan: w.nanScores,
      confusion: w.confusion,
    });
    for (const k of ['auroc', 'ap', 'auprc'] as const) {
      if (w.ranking[k] === null) expect(g.ranking[k], `${at} ${k}`).toBeNull();
      else expect(g.ranking[k]!, `${at} ${k}`).toBeCloseTo(w.ranking[k]!, 12);
    }
  });
}

/** A matrix with every kind of column: ties, masks, soft labels, one class with a negative score, one with a NaN, one all masked, one single-valued. */
function makeMatrix(rng: Rng, rows: number, C: number): { scores: Float32Array; labels: Float32Array } {
  const scores = new Float32Array(rows * C);
  const labels = new Float32Array(rows * C);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < C; c++) {
      const j = i * C + c;
      const y = rng.next() < 0.1 + 0.05 * c ? 1 : 0;
      labels[j] = c === 3 ? -1 : rng.next() < 0.1 ? -1 : c === 4 ? 1 : rng.next() < 0.01 ? 0.7 : y;
      const p = 1 / (1 + Math.exp(-rng.normal(y ? 1 : 0, 1)));
      scores[j] = c === 5 ? Math.round(p * 20) / 20 : rng.next() < 0.2 ? Math.round(p * 1e3) / 1e3 : p;
    }
  }
  scores[1 * C + 0] = -0.25; // class 0: a negative score
  labels[1 * C + 0] = 1;
  scores[2 * C + 1] = NaN; // class 1: a NaN score
  labels[2 * C + 1] = 0;
  scores[3 * C + 2] = -0; // class 2: -0
  labels[3 * C + 2] = 0;
  return { scores, labels };
}

const THRESHOLDS = [0.5, 0.5, 0.25, 0.5, 0.5, 0.35, 0.1, 0.1000000016, Infinity, -Infinity, NaN, 0];

describe('summarizeColumns (all classes at once)', () => {
  const rng = new Rng('columns');

  it('equals columnSummary column by column, for every label type and threshold', () => {
    const C = THRESHOLDS.length;
    const { scores, labels } = makeMatrix(rng, 3000, C);
    // A score exactly at a threshold, and one just below 0.1000000016 (a float64 between two float32s).
    scores[5 * C + 0] = 0.5;
    scores[6 * C + 7] = Math.fround(0.1);
    const asInt = Array.from(labels, (y) => (y >= 0 ? Math.round(y) : -1));
    const variants: [string, Labels][] = [
      ['Float32Array', labels],
      ['Float64Array', Float64Array.from(labels)],
      ['plain array', Array.from(labels)],
      ['Int8Array', Int8Array.from(asInt)],
      ['Uint8Array (no masks)', Uint8Array.from(asInt, (y) => Math.max(0, y))],
    ];
    for (const [what, l] of variants) expectSame(summarizeColumns(scores, l, C, THRESHOLDS), reference(scores, l, C, THRESHOLDS), what);
  });

  it('handles no rows, one class, and classes without labelled cases', () => {
    expect(summarizeColumns(new Float32Array(0), new Float32Array(0), 3, [0.5, 0.5, 0.5])).toHaveLength(3);
    const scores = Float32Array.from([0.1, 0.9, 0.4, 0.4]);
    expectSame(summarizeColumns(scores, [0, 1, 1, 0], 1, [0.4]), reference(scores, [0, 1, 1, 0], 1, [0.4]), 'one class');
    const none = summarizeColumns(scores, [-1, -1, -1, -1], 2, [0.5, 0.5]);
    expect(none.map((s) => [s.labelled, s.ranking.auroc, s.confusion.tp + s.confusion.fp + s.confusion.tn + s.confusion.fn])).toEqual([
      [0, null, 0],
      [0, null, 0],
    ]);
  });

  it('threshold keys order like the scores they compare with', () => {
    const values = [-Infinity, -1, -1e-40, -0, 0, 1e-45, 1e-40, 0.1, Math.fround(0.1), 0.5, 1, 3.4e38, 3.5e38, Infinity];
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    const key = (s: number) => {
      f[0] = s;
      const b = u[0]!;
      return b === 0x80000000 ? 0x80000000 : b & 0x80000000 ? ~b >>> 0 : (b | 0x80000000) >>> 0;
    };
    for (const t of values) {
      for (const v of values) {
        const s = Math.fround(v);
        expect(key(s) >= thresholdKey(t), `${s} >= ${t}`).toBe(s >= t);
      }
    }
    expect(thresholdKey(NaN)).toBe(Infinity);
  });
});

describe('summarizeColumns on two threads', () => {
  const saved = process.env.MEDTRAIN_METRICS_THREADS;
  afterEach(() => {
    if (saved === undefined) delete process.env.MEDTRAIN_METRICS_THREADS;
    else process.env.MEDTRAIN_METRICS_THREADS = saved;
  });

  it('gives the figures one thread gives, over changing shapes and label types', async () => {
    const ready = await startMetricsHelper();
    // Every machine this project supports has two cores; one with a single core has nothing to test here.
    expect(ready).toBe(availableParallelism() >= 2);
    const rng = new Rng('columns-threads');
    const shapes: [number, number][] = [
      [Math.ceil(PARALLEL_MIN_ELEMENTS / 12), 12],
      [Math.ceil(PARALLEL_MIN_ELEMENTS / 5) + 7, 5],
    ];
    for (const [rows, C] of shapes) {
      const { scores, labels } = makeMatrix(rng, rows, C);
      const thresholds = THRESHOLDS.slice(0, C);
      for (const [what, l] of [
        ['Float32Array', labels],
        ['Int8Array', Int8Array.from(labels, (y) => (y >= 0 ? Math.round(y) : -1))],
      ] as const) {
        delete process.env.MEDTRAIN_METRICS_THREADS;
        const two = summarizeColumns(scores, l, C, thresholds);
        process.env.MEDTRAIN_METRICS_THREADS = '1';
        const one = summarizeColumns(scores, l, C, thresholds);
        expectSame(two, one, `${rows} x ${C}, ${what}`);
        expectSame(two.slice(0, 3), reference(scores, l, C, thresholds).slice(0, 3), `${rows} x ${C}, ${what}, against columnSummary`);
      }
    }
  });

  it('hands a matrix to the helper exactly when it has PARALLEL_MIN_ELEMENTS elements and MEDTRAIN_METRICS_THREADS allows it', async () => {
    delete process.env.MEDTRAIN_METRICS_THREADS;
    const ready = await startMetricsHelper();
    expect(ready).toBe(availableParallelism() >= 2);
    const helped = ready ? 1 : 0;
    const C = 8;
    const rows = PARALLEL_MIN_ELEMENTS / C; // exactly the threshold
    expect(Number.isInteger(rows)).toBe(true);
    const { scores, labels } = makeMatrix(new Rng('columns-helper'), rows, C);
    const thresholds = THRESHOLDS.slice(0, C);
    const want = reference(scores, labels, C, thresholds);
    const run = (what: string, jobs: number) => {
      const before = helperJobsDone();
      expectSame(summarizeColumns(scores, labels, C, thresholds), want, what);
      expect(helperJobsDone() - before, `${what}: jobs the helper did`).toBe(jobs);
    };

    run('default', helped);
    process.env.MEDTRAIN_METRICS_THREADS = '1';
    expect(await startMetricsHelper()).toBe(false);
    run('MEDTRAIN_METRICS_THREADS=1', 0);
    process.env.MEDTRAIN_METRICS_THREADS = '2';
    run('MEDTRAIN_METRICS_THREADS=2', helped);
    process.env.MEDTRAIN_METRICS_THREADS = 'two';
    const warnings: string[] = [];
    const stop = addLogSink({
      write: (level, _scope, message) => {
        if (level === 'warn') warnings.push(message);
      },
    });
    try {
      run('MEDTRAIN_METRICS_THREADS=two (the default, with a warning)', helped);
    } finally {
      stop();
    }
    expect(warnings.some((w) => w.includes('MEDTRAIN_METRICS_THREADS=two'))).toBe(true);

    // One row fewer: below PARALLEL_MIN_ELEMENTS, this thread does it all.
    delete process.env.MEDTRAIN_METRICS_THREADS;
    const n = (rows - 1) * C;
    const before = helperJobsDone();
    expectSame(summarizeColumns(scores.subarray(0, n), labels.subarray(0, n), C, thresholds), reference(scores.subarray(0, n), labels.subarray(0, n), C, thresholds), 'below the threshold');
    expect(helperJobsDone() - before, 'below the threshold: jobs the helper did').toBe(0);
    // The helper is still up: none of the calls above let it down.
    expect(await startMetricsHelper()).toBe(ready);
  });
});
