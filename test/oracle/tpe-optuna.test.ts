/**
 * medtrain's TPE sampler against Optuna's TPESampler on two standard test functions, Branin (2-D)
 * and Hartmann (6-D), over 20 seeds each: TPE must beat random search, and come within a stated
 * margin of Optuna's own TPE, each as it comes (`new TpeSampler()` against `TPESampler(seed=s)`:
 * multivariate, with the constant liar, which a sequential search never calls on) and both
 * univariate (`multivariate: false` against `multivariate=False`). Its truncated normal is checked
 * against SciPy's on the way. One Python process for all of it.
 */
import { beforeAll, expect, it } from 'vitest';
import { describeOracle, runPython } from '../helpers/python.js';
import { RandomSampler } from '../../src/sweeps/samplers/random.js';
import { TpeSampler } from '../../src/sweeps/samplers/tpe.js';
import { logNdtr, truncnormLogPdf, truncnormPpf } from '../../src/sweeps/samplers/truncnorm.js';
import type { Sampler } from '../../src/sweeps/samplers/sampler.js';
import type { Params, Space, TrialRecord } from '../../src/sweeps/space.js';
import { Rng } from '../../src/util/rng.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => i);

/**
 * Medtrain's median regret (median best − global minimum) may be at most RATIO × Optuna's plus
 * SLACK, in each pairing. Over seeds 0–99 the two are indistinguishable (median best, medtrain /
 * Optuna): as they come, Branin 0.569 / 0.571 and Hartmann −3.111 / −3.127; univariate, Branin
 * 0.682 / 0.668 and Hartmann −2.864 / −2.873. Seeds 0–19 here give regrets, as they come, Branin
 * 0.252 against Optuna's 0.110 (limit 0.314: Optuna's seeds are lucky, its 5th percentile of 20-seed
 * medians) and Hartmann 0.271 against 0.157 (limit 0.385); univariate, 0.289 against 0.426 (limit
 * 0.790) and 0.424 against 0.357 (limit 0.686). Resampling 20 of the 100 seeds on each side, this
 * margin fails a correct TPE 0.03 % of the time (as it comes) and 0.3 % (univariate) on Branin, at
 * most 0.02 % on Hartmann; SLACK = 0.1 would fail it 0.2 % and 1.1 % on Branin and leave the
 * first pairing 0.012 of headroom on these seeds. A real check: random search fails it (the last
 * test below): its regret, 0.751 on Branin and 1.313 on Hartmann, is over both limits as they come
 * (and 98 % of resampled seed sets on Branin, all on Hartmann) and over Hartmann's univariate one;
 * only Branin's univariate limit (0.790) it meets.
 */
const RATIO = 1.5;
const SLACK = 0.15;

interface Problem {
  name: 'branin' | 'hartmann';
  space: Space;
  f: (p: Params) => number;
  minimum: number;
  budget: number;
}

function branin(p: Params): number {
  const x1 = p.x1 as number;
  const x2 = p.x2 as number;
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const H_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
];

function hartmann(p: Params): number {
  let sum = 0;
  for (let i = 0; i < 4; i++) {
    let e = 0;
    for (let j = 0; j < 6; j++) e += H_A[i]![j]! * ((p[`x${j + 1}`] as number) - H_P[i]![j]! * 1e-4) ** 2;
    sum += H_ALPHA[i]! * Math.exp(-e);
  }
  return -sum;
}

const PROBLEMS: Problem[] = [
  { name: 'branin', space: { x1: { kind: 'uniform', low: -5, high: 10 }, x2: { kind: 'uniform', low: 0, high: 15 } }, f: branin, minimum: 0.397887, budget: 50 },
  { name: 'hartmann', space: Object.fromEntries([1, 2, 3, 4, 5, 6].map((j) => [`x${j}`, { kind: 'uniform', low: 0, high: 1 }])), f: hartmann, minimum: -3.32237, budget: 80 },
];

/** The same functions in Python, Optuna's searches over the same seeds and budgets, and SciPy's truncnorm at our points. */
const PY = `
import json, math, sys
import optuna
from scipy.stats import truncnorm
from scipy.special import log_ndtr
optuna.logging.set_verbosity(optuna.logging.WARNING)
inp = json.loads(sys.stdin.read())
A = ${JSON.stringify(H_A)}
P = ${JSON.stringify(H_P)}
AL = ${JSON.stringify(H_ALPHA)}
def branin(t):
    x1 = t.suggest_float('x1', -5, 10); x2 = t.suggest_float('x2', 0, 15)
    b = 5.1 / (4 * math.pi ** 2); c = 5 / math.pi; tt = 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - tt) * math.cos(x1) + 10
def hartmann(t):
    x = [t.suggest_float(f'x{j + 1}', 0, 1) for j in range(6)]
    return -sum(AL[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j] * 1e-4) ** 2 for j in range(6))) for i in range(4))
out = {'optuna': optuna.__version__, 'default': {}, 'univariate': {}}
for name, f in (('branin', branin), ('hartmann', hartmann)):
    for key, kw in (('default', {}), ('univariate', {'multivariate': False})):
        best = []
        for s in inp['seeds']:
            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=s, **kw))
            study.optimize(f, n_trials=inp['budgets'][name])
            best.append(study.best_value)
        out[key][name] = best
out['ppf'] = [float(truncnorm.ppf(q, a, b)) for q, a, b in inp['ppf']]
out['logpdf'] = [float(truncnorm.logpdf(x, a, b, loc=m, scale=s)) for x, a, b, m, s in inp['logpdf']]
out['logNdtr'] = [float(log_ndtr(x)) for x in inp['logNdtr']]
print(json.dumps(out))
`;

interface PyOut {
  optuna: string;
  /** TPESampler(seed=s): multivariate, constant liar. */
  default: Record<Problem['name'], number[]>;
  univariate: Record<Problem['name'], number[]>;
  ppf: number[];
  logpdf: number[];
  logNdtr: number[];
}

/**
 * Truncated-normal points: intervals left of, around and right of 0, narrow and wide, near and far
 * out; quantiles from 1e-12 to 1 − 1e-6. Not nearer 1: there SciPy's own ppf loses digits for an
 * interval starting left of 0 (at q = 1 − 1e-9 on [−0.2, 30] it is 1.5e-8 off the 50-digit mpmath
 * value, which medtrain's matches to 1e-16).
 */
function truncnormCases(): { ppf: [number, number, number][]; logpdf: [number, number, number, number, number][]; logNdtr: number[] } {
  const intervals: [number, number][] = [[-40, -38], [-12, -11.9], [-5, -1], [-3, 2], [-1, 1], [-0.2, 30], [0, 1], [0.5, 4], [6, 6.5], [8, 10], [25, 27], [-60, 60]];
  const qs = [1e-12, 1e-6, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-6];
  const ppf = intervals.flatMap(([a, b]) => qs.map((q) => [q, a, b] as [number, number, number]));
  const logpdf = intervals.flatMap(([a, b]) => [0.001, 0.1, 0.5, 0.9, 0.999].map((t) => [0.7 + 1.3 * (a + (b - a) * t), a, b, 0.7, 1.3] as [number, number, number, number, number]));
  const logNdtr = [-1000, -200, -38.5, -20.0001, -19.9999, -8, -3, -0.5, 0, 0.5, 3, 5.9, 6.1, 9, 20, 38];
  return { ppf, logpdf, logNdtr };
}

/** One sequential search: propose with trial i's own fork of the seed, evaluate, record. Returns the best value. */
function bestOf(sampler: Sampler, problem: Problem, seed: number): number {
  const trials: TrialRecord[] = [];
  let best = Infinity;
  for (let number = 0; number < problem.budget; number++) {
    const params = sampler.sample({ space: problem.space, trials, direction: 'minimize', number, rng: new Rng(seed).fork(`trial-${number}`) });
    const value = problem.f(params);
    best = Math.min(best, value);
    trials.push({ number, params, state: 'complete', value, intermediate: [] });
  }
  return best;
}

function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Whether a median best value is within the margin of Optuna's, as regrets from the problem's minimum. */
function withinMargin(ours: number, optunas: number, problem: Problem): boolean {
  return ours - problem.minimum <= RATIO * (optunas - problem.minimum) + SLACK;
}

/** Medtrain's samplers and Optuna's results they are held against. */
const PAIRINGS = [
  { label: 'as they come', sampler: (): Sampler => new TpeSampler(), optuna: 'default' },
  { label: 'univariate', sampler: (): Sampler => new TpeSampler({ multivariate: false }), optuna: 'univariate' },
] as const;

describeOracle('TPE sampler vs Optuna', ['optuna', 'scipy'], () => {
  const cases = truncnormCases();
  let py: PyOut;
  const medians: Record<string, Record<string, number>> = {};

  beforeAll(() => {
    py = runPython<PyOut>(PY, { seeds: SEEDS, budgets: Object.fromEntries(PROBLEMS.map((p) => [p.name, p.budget])), ...cases }, { timeoutMs: 120_000 });
    for (const problem of PROBLEMS) {
      medians[problem.name] = {
        ...Object.fromEntries(PAIRINGS.flatMap((p) => [[`tpe ${p.label}`, median(SEEDS.map((s) => bestOf(p.sampler(), problem, s)))], [`optuna ${p.label}`, median(py[p.optuna][problem.name])]])),
        random: median(SEEDS.map((s) => bestOf(new RandomSampler(), problem, s))),
        minimum: problem.minimum,
      };
    }
    console.log(JSON.stringify({ oracle: 'tpe-optuna', optuna: py.optuna, seeds: SEEDS.length, budgets: Object.fromEntries(PROBLEMS.map((p) => [p.name, p.budget])), medians }));
  });

  it('truncnorm ppf, logpdf and log Φ equal SciPy’s', () => {
    cases.ppf.forEach(([q, a, b], i) => {
      const e = py.ppf[i]!;
      expect(Math.abs(truncnormPpf(q, a, b) - e) / Math.max(1, Math.abs(e)), `ppf(${q}, ${a}, ${b})`).toBeLessThan(1e-9);
    });
    cases.logpdf.forEach(([x, a, b, loc, scale], i) => {
      const e = py.logpdf[i]!;
      expect(Math.abs(truncnormLogPdf(x, a, b, loc, scale) - e) / Math.max(1, Math.abs(e)), `logpdf(${x}, ${a}, ${b})`).toBeLessThan(1e-11);
    });
    cases.logNdtr.forEach((x, i) => {
      const e = py.logNdtr[i]!;
      expect(Math.abs(logNdtr(x) - e) / Math.max(1e-300, Math.abs(e)), `logNdtr(${x})`).toBeLessThan(1e-12);
    });
  });

  for (const problem of PROBLEMS) {
    for (const { label } of PAIRINGS) {
      it(`${problem.name}: TPE (${label}) beats random search`, () => {
        const m = medians[problem.name]!;
        expect(m[`tpe ${label}`]!).toBeLessThan(m.random!);
      });

      it(`${problem.name}: TPE's (${label}) median regret is within ${RATIO}× Optuna's + ${SLACK}`, () => {
        const m = medians[problem.name]!;
        const ours = m[`tpe ${label}`]!;
        const theirs = m[`optuna ${label}`]!;
        expect(withinMargin(ours, theirs, problem), `medtrain ${ours}, Optuna ${theirs}, minimum ${problem.minimum}`).toBe(true);
      });
    }
  }

  it('the margin is a real check: random search fails it against Optuna’s default TPE', () => {
    const failed = PROBLEMS.filter((problem) => !withinMargin(medians[problem.name]!.random!, medians[problem.name]!['optuna as they come']!, problem));
    expect(failed.map((p) => p.name)).toContain('hartmann');
  });
});
