/**
 * npm run bench -- metrics [--rows N] [--classes C] [--reps R] [--no-peer]
 *
 * AUROC + AUPRC (average precision and the trapezoidal area) for C classes × N rows of float32
 * predictions (default 14 × 200,000, the issue's figure: <= 100 ms), beside scikit-learn doing
 * roc_auc_score + average_precision_score on the same data on the same machine. Prints one JSON
 * object with both times (median of the repetitions), their ratio and the largest difference
 * between the two libraries' values. medtrain is timed on one thread and as it runs by default
 * (two threads for a matrix this large when there is a second core); the budget is for the default.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PARALLEL_MIN_ELEMENTS, evaluateMultiLabel, rankingByClass, startMetricsHelper } from '../src/metrics/index.js';
import { numberFlag, parseCli, runMain } from '../src/util/cli.js';
import { Rng } from '../src/util/rng.js';

const FLAGS = {
  rows: { type: 'string', value: 'N', help: 'rows (default 200000)' },
  classes: { type: 'string', value: 'C', help: 'classes (default 14)' },
  reps: { type: 'string', value: 'R', help: 'timed repetitions (default 15; the peer runs 3)' },
  'no-peer': { type: 'boolean', help: 'skip scikit-learn' },
} as const;

const BUDGET_MS = 100;

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Predictions like a trained model's: per-class prevalence 1–40%, scores separated by about AUROC 0.8, float32, some ties. */
function makeData(rows: number, C: number): { scores: Float32Array; labels: Uint8Array } {
  const rng = new Rng('bench-metrics');
  const scores = new Float32Array(rows * C);
  const labels = new Uint8Array(rows * C);
  const prevalence = Array.from({ length: C }, (_, c) => 0.01 + (0.39 * c) / Math.max(1, C - 1));
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < C; c++) {
      const y = rng.next() < prevalence[c]! ? 1 : 0;
      const z = rng.normal(y ? 1.2 : 0, 1);
      labels[i * C + c] = y;
      // Sigmoid outputs; rounding to 1e-4 on a tenth of them makes ties, as saturated or quantised outputs do.
      const p = 1 / (1 + Math.exp(-z));
      scores[i * C + c] = rng.next() < 0.1 ? Math.round(p * 1e4) / 1e4 : p;
    }
  }
  return { scores, labels };
}

/** The timed work: rankingByClass, one sort per class (what evaluateMultiLabel does per class). */
function rankingAll(scores: Float32Array, labels: Uint8Array, C: number): { auroc: number[]; ap: number[]; auprc: number[] } {
  const r = rankingByClass(scores, labels, C);
  return { auroc: r.map((x) => x.auroc!), ap: r.map((x) => x.ap!), auprc: r.map((x) => x.auprc!) };
}

runMain(async () => {
  const { flags } = parseCli('bench -- metrics', FLAGS, process.argv.slice(2));
  const rows = numberFlag('rows', flags.rows, { integer: true, min: 2 }) ?? 200_000;
  const C = numberFlag('classes', flags.classes, { integer: true, min: 1 }) ?? 14;
  const reps = numberFlag('reps', flags.reps, { integer: true, min: 1 }) ?? 15;
  const { scores, labels } = makeData(rows, C);

  // Both ways: one thread, and the default (a helper thread for large matrices when there is a
  // second core; started before timing, as it is once per process). Warm up the JIT, then time.
  const timeIt = (n: number) => {
    for (let i = 0; i < 3; i++) rankingAll(scores, labels, C);
    const times: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < n; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      rankingAll(scores, labels, C);
      times.push(performance.now() - t0);
      cpu.push(process.cpuUsage(c0).user / 1000);
    }
    return { times, cpu };
  };
  const load = loadavg()[0]!;
  const saved = process.env.MEDTRAIN_METRICS_THREADS;
  process.env.MEDTRAIN_METRICS_THREADS = '1';
  const single = timeIt(reps);
  if (saved === undefined) delete process.env.MEDTRAIN_METRICS_THREADS;
  else process.env.MEDTRAIN_METRICS_THREADS = saved;
  const threads = (await startMetricsHelper()) && rows * C >= PARALLEL_MIN_ELEMENTS ? 2 : 1;
  const { times, cpu } = timeIt(reps);
  const values = rankingAll(scores, labels, C);
  const reportTimes: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    evaluateMultiLabel(scores, labels, C, { micro: false });
    reportTimes.push(performance.now() - t0);
  }
  const ms = median(times);
  const result: Record<string, unknown> = {
    harness: 'metrics',
    work: `AUROC + average precision + trapezoidal AUPRC, ${C} classes x ${rows} rows (float32)`,
    medtrain: {
      ms_median: round(ms),
      ms_min: round(Math.min(...times)),
      cpu_ms_median: round(median(cpu)),
      threads,
      one_thread_ms_median: round(median(single.times)),
      reps,
      full_report_ms_median: round(median(reportTimes)),
    },
    // The CPU is shared: a load average well above the core count inflates every figure here.
    machine: { cores: cpus().length, load_average_1m: round(load) },
    budget_ms: BUDGET_MS,
    within_budget: ms <= BUDGET_MS,
  };

  if (!flags['no-peer']) {
    const dir = mkdtempSync(join(tmpdir(), 'medtrain-bench-'));
    try {
      writeFileSync(join(dir, 'scores.f32'), scores);
      writeFileSync(join(dir, 'labels.u8'), labels);
      const peer = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'metrics_sklearn.py');
      const r = spawnSync(process.env.MEDTRAIN_PYTHON ?? 'python3', [peer, join(dir, 'scores.f32'), join(dir, 'labels.u8'), String(rows), String(C), '3'], { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (r.status !== 0) {
        result.sklearn = { error: (r.stderr || String(r.error)).trim().split('\n').pop() };
      } else {
        const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms: number[]; trapz_ms: number[]; values: typeof values; sklearn: string };
        let diff = 0;
        for (const k of ['auroc', 'ap', 'auprc'] as const) values[k].forEach((v, i) => (diff = Math.max(diff, Math.abs(v - p.values[k][i]!))));
        const sk = median(p.ms);
        result.sklearn = { version: p.sklearn, ms_median: round(sk), work: 'roc_auc_score + average_precision_score per class', trapezoid_auprc_extra_ms_median: round(median(p.trapz_ms)) };
        result.ratio_sklearn_over_medtrain = round(sk / ms);
        result.max_abs_difference = diff;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
});

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
