/**
 * The random and TPE samplers: proposals lie in the space with the right types for every kind of
 * distribution, the same seed proposes the same trials, TPE splits trials as Optuna does and
 * homes in on a 1-D optimum after its random startup; multivariate TPE (the default) sees what
 * one estimator per parameter cannot (good points on a diagonal, not its mirror image), and the
 * constant liar steers a proposal away from trials still running; the truncated normal under its
 * kernels against SciPy's values. (test/oracle/tpe-optuna.test.ts compares whole searches with
 * Optuna.)
 */
import { describe, expect, it } from 'vitest';
import { RandomSampler } from '../../src/sweeps/samplers/random.js';
import { TpeSampler, defaultGamma, defaultWeights, splitTrials } from '../../src/sweeps/samplers/tpe.js';
import { logGaussMass, logNdtr, ndtriExp, truncnormLogPdf, truncnormPpf } from '../../src/sweeps/samplers/truncnorm.js';
import type { SampleContext, Sampler } from '../../src/sweeps/samplers/sampler.js';
import { contains, type Direction, type Params, type Space, type TrialRecord } from '../../src/sweeps/space.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const SPACE: Space = {
  optimizer: { kind: 'choice', choices: ['adam', 'sgd', 'adamw'] },
  batchSize: { kind: 'choice', choices: [16, 32, 64] },
  augment: { kind: 'choice', choices: [true, false] },
  dropout: { kind: 'uniform', low: 0, high: 0.5 },
  learningRate: { kind: 'loguniform', low: 1e-5, high: 1e-1 },
  epochs: { kind: 'int', low: -3, high: 7, log: false },
  width: { kind: 'int', low: 1, high: 1000, log: true },
};

/** A sequential search: propose, evaluate, record, `n` times (each trial with its own fork of the seed). */
function search(sampler: Sampler, space: Space, f: (p: Params, i: number) => number, n: number, seed: number | string, direction: Direction = 'minimize'): TrialRecord[] {
  const trials: TrialRecord[] = [];
  for (let i = 0; i < n; i++) {
    const params = sampler.sample({ space, trials, direction, number: i, rng: new Rng(seed).fork(`trial-${i}`) });
    trials.push({ number: i, params, state: 'complete', value: f(params, i), intermediate: [] });
  }
  return trials;
}

/** A messy objective of every parameter, so TPE's split differs from trial to trial. */
function messy(p: Params): number {
  return (p.optimizer === 'sgd' ? 1 : 0) + (p.augment ? 0.5 : 0) + Math.abs((p.dropout as number) - 0.2) + Math.abs(Math.log10(p.learningRate as number) + 3) + Math.abs((p.epochs as number) - 2) / 5 + Math.abs(Math.log(p.width as number) - 3) + (p.batchSize as number) / 100;
}

function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function trial(number: number, state: TrialRecord['state'], value: number | null, intermediate: [number, number][] = []): TrialRecord {
  return { number, params: { x: number }, state, value, intermediate };
}

/** Sampler and label: random search, TPE as it comes (multivariate), and univariate TPE. */
const SAMPLERS: [string, Sampler][] = [
  ['random', new RandomSampler()],
  ['tpe', new TpeSampler()],
  ['univariate tpe', new TpeSampler({ multivariate: false })],
];

/** Two points on a line of 2-D space: a narrow cluster each of the best trials sit at (−5, −5) and (5, 5). */
const PLANE: Space = { x: { kind: 'uniform', low: -10, high: 10 }, y: { kind: 'uniform', low: -10, high: 10 } };

function distanceTo(p: Params, cx: number, cy: number): number {
  return Math.hypot((p.x as number) - cx, (p.y as number) - cy);
}

/** The best of two optima on the diagonal, (−5, −5) and (5, 5): squared distance to the nearer. */
function twin(p: Params): number {
  return Math.min(distanceTo(p, 5, 5), distanceTo(p, -5, -5)) ** 2;
}

describe('samplers propose values of the space', () => {
  for (const [label, sampler] of SAMPLERS) {
    it(`${label}: every kind of distribution, in range and of its type`, () => {
      const trials = search(sampler, SPACE, messy, 60, 'range');
      for (const t of trials) {
        for (const [key, d] of Object.entries(SPACE)) {
          const v = t.params[key]!;
          expect(contains(d, v), `${key} = ${v}`).toBe(true);
          if (d.kind === 'int') expect(Number.isInteger(v)).toBe(true);
          if (d.kind === 'uniform' || d.kind === 'loguniform') expect(typeof v).toBe('number');
        }
        expect(Object.keys(t.params).sort()).toEqual(Object.keys(SPACE).sort());
      }
    });

    it(`${label}: the same seed proposes the same trials, another seed others`, () => {
      const a = search(sampler, SPACE, messy, 30, 7).map((t) => t.params);
      const b = search(sampler, SPACE, messy, 30, 7).map((t) => t.params);
      const c = search(sampler, SPACE, messy, 30, 8).map((t) => t.params);
      expect(b).toEqual(a);
      expect(c).not.toEqual(a);
    });
  }

  it('random: integers cover low..high inclusive, uniformly; log integers favour the small ones', () => {
    const sampler = new RandomSampler();
    const rng = new Rng('ints');
    const counts = new Map<number, number>();
    let small = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const p = sampler.sample({ space: { k: { kind: 'int', low: 0, high: 3, log: false }, w: { kind: 'int', low: 1, high: 1000, log: true } }, trials: [], direction: 'minimize', number: i, rng });
      counts.set(p.k as number, (counts.get(p.k as number) ?? 0) + 1);
      if ((p.w as number) <= 31) small++;
    }
    expect([...counts.keys()].sort()).toEqual([0, 1, 2, 3]);
    for (const c of counts.values()) expect(Math.abs(c / n - 0.25)).toBeLessThan(0.03);
    // ln(31.5 / 0.5) / ln(1000.5 / 0.5) ≈ 0.545 of the log range lies at or below 31.
    expect(Math.abs(small / n - 0.545)).toBeLessThan(0.03);
  });
});

describe('TPE', () => {
  it('keeps Optuna’s defaults: γ(n) = min(⌈n/10⌉, 25) and the ramp of old trials’ weights from 25', () => {
    expect([0, 1, 10, 11, 100, 249, 250, 1000].map(defaultGamma)).toEqual([0, 1, 1, 2, 10, 25, 25, 25]);
    expect([...defaultWeights(24)]).toEqual(new Array(24).fill(1));
    expect([...defaultWeights(25)]).toEqual(new Array(25).fill(1));
    expect([...defaultWeights(26)]).toEqual([1 / 26, ...new Array(25).fill(1)]);
    const w = defaultWeights(30); // numpy.linspace(1/30, 1, 5) then 25 ones
    [1 / 30, 0.275, 0.5166666666666667, 0.7583333333333333, 1].forEach((v, i) => expect(w[i]).toBeCloseTo(v, 14));
    expect([...w.slice(5)]).toEqual(new Array(25).fill(1));
  });

  it('splits as Optuna does: complete trials by value, then pruned ones by step reached and value; running and failed ones left out', () => {
    const trials = [
      trial(0, 'complete', 5),
      trial(1, 'pruned', null, [[0, 0.1], [1, 9]]),
      trial(2, 'complete', 1),
      trial(3, 'running', null),
      trial(4, 'failed', null),
      trial(5, 'pruned', null, [[0, 0.05]]),
      trial(6, 'pruned', null, [[0, 2], [1, 3]]),
      trial(7, 'complete', 3),
      trial(8, 'pruned', null),
    ];
    const numbers = (s: { below: TrialRecord[]; above: TrialRecord[] }): [number[], number[]] => [s.below.map((t) => t.number), s.above.map((t) => t.number)];
    expect(numbers(splitTrials(trials, 'minimize', 2))).toEqual([[2, 7], [0, 1, 5, 6, 8]]);
    expect(numbers(splitTrials(trials, 'maximize', 2))).toEqual([[0, 7], [1, 2, 5, 6, 8]]);
    // Past the complete trials: step 1 before step 0, at step 1 the lower value (minimize) first, no report last.
    expect(numbers(splitTrials(trials, 'minimize', 4))).toEqual([[0, 2, 6, 7], [1, 5, 8]]);
    expect(numbers(splitTrials(trials, 'maximize', 4))).toEqual([[0, 1, 2, 7], [5, 6, 8]]);
    expect(numbers(splitTrials(trials, 'minimize', 9))).toEqual([[0, 1, 2, 5, 6, 7, 8], []]);
    // The constant liar: running trials are above whatever the cut (failed ones still left out).
    expect(numbers(splitTrials(trials, 'minimize', 2, true))).toEqual([[2, 7], [0, 1, 3, 5, 6, 8]]);
    expect(numbers(splitTrials(trials, 'minimize', 9, true))).toEqual([[0, 1, 2, 5, 6, 7, 8], [3]]);
  });

  it('draws at random (as RandomSampler) until nStartupTrials trials have finished', () => {
    const tpe = new TpeSampler({ nStartupTrials: 5 });
    const random = new RandomSampler();
    const trials = search(random, SPACE, messy, 4, 'startup');
    trials.push({ number: 4, params: {}, state: 'running', value: null, intermediate: [] }, { number: 5, params: {}, state: 'failed', value: null, intermediate: [] });
    const ctx = (): SampleContext => ({ space: SPACE, trials, direction: 'minimize', number: 6, rng: new Rng('startup').fork('trial-6') });
    expect(tpe.sample(ctx())).toEqual(random.sample(ctx()));
    trials.push({ number: 6, params: random.sample(ctx()), state: 'pruned', value: null, intermediate: [] });
    expect(tpe.sample(ctx())).not.toEqual(random.sample(ctx()));
  });

  it('homes in on the minimum of a 1-D quadratic after the startup trials', () => {
    const space: Space = { x: { kind: 'uniform', low: -10, high: 10 } };
    /** |x − 3| of the second half of 100 trials, over 5 seeds. */
    const late = (sampler: Sampler): number[] =>
      [0, 1, 2, 3, 4].flatMap((seed) =>
        search(sampler, space, (p) => ((p.x as number) - 3) ** 2, 100, seed)
          .slice(50)
          .map((t) => Math.abs((t.params.x as number) - 3)),
      );
    const tpe = late(new TpeSampler());
    const random = late(new RandomSampler());
    const near = (d: number[]): number => d.filter((v) => v < 1).length / d.length;
    // Measured: TPE's median distance 0.92 with 54 % within 1; random's 5.4 and 11 %.
    expect(median(tpe)).toBeLessThan(1.5);
    expect(median(tpe)).toBeLessThan(median(random) / 3);
    expect(near(tpe)).toBeGreaterThan(0.4);
    expect(near(tpe)).toBeGreaterThan(3 * near(random));
  });

  it('maximizing f proposes what minimizing −f does', () => {
    const space: Space = { x: { kind: 'uniform', low: -10, high: 10 }, k: { kind: 'int', low: 0, high: 9, log: false } };
    const f = (p: Params): number => ((p.x as number) - 3) ** 2 + Math.abs((p.k as number) - 4);
    const min = search(new TpeSampler(), space, f, 30, 'direction', 'minimize');
    const max = search(new TpeSampler(), space, (p) => -f(p), 30, 'direction', 'maximize');
    expect(max.map((t) => t.params)).toEqual(min.map((t) => t.params));
  });

  for (const [label, sampler] of SAMPLERS.slice(1)) {
    it(`${label}: homes in on the best choice and the best log-scale integer`, () => {
      const space: Space = { opt: { kind: 'choice', choices: ['a', 'b', 'c', 'd'] }, w: { kind: 'int', low: 1, high: 1024, log: true } };
      const late = Array.from({ length: 10 }, (_, s) => search(sampler, space, (p) => (p.opt === 'c' ? 0 : 1) + Math.abs(Math.log2(p.w as number) - 5), 50, `mixed-${s}`).slice(25)).flat();
      // Trials 25–49 of 10 seeds. Measured: 'c' in 54 % (multivariate) and 55 % (univariate) of them,
      // random search 28 %; median |log2 w − 5| 1.19 and 1.02, random 2.81. Over ten such sets of
      // seeds the share never fell below 49 % nor the distance rose above 1.30. (Optuna 5.1 agrees:
      // over 100 seeds its multivariate TPE picks 'c' in 56 % of these trials, ours 56 %; univariate
      // 60 % and 61 %: a joint estimator settles on the choice a little later.)
      expect(late.filter((t) => t.params.opt === 'c').length / late.length).toBeGreaterThan(0.42);
      expect(median(late.map((t) => Math.abs(Math.log2(t.params.w as number) - 5)))).toBeLessThan(1.5);
    });
  }

  it('learns from pruned trials and ignores failed ones (and running ones without the constant liar)', () => {
    const space: Space = { x: { kind: 'uniform', low: 0, high: 1 } };
    const base = search(new RandomSampler(), space, (p) => p.x as number, 10, 'pruned');
    const failed = { number: 11, params: { x: 0.95 }, state: 'failed' as const, value: null, intermediate: [] };
    const withNoise = [...base, { number: 10, params: { x: 0.9 }, state: 'running' as const, value: null, intermediate: [] }, failed];
    const ctx = (trials: TrialRecord[]): SampleContext => ({ space, trials, direction: 'minimize', number: 14, rng: new Rng('pruned').fork('trial-14') });
    const tpe = new TpeSampler();
    expect(tpe.sample(ctx([...base, failed]))).toEqual(tpe.sample(ctx(base)));
    expect(new TpeSampler({ constantLiar: false }).sample(ctx(withNoise))).toEqual(tpe.sample(ctx(base)));
    // A pruned trial counts among the n finished ones: γ(11) = 2 trials below instead of γ(10) = 1.
    const pruned = [...base, { number: 10, params: { x: 0.5 }, state: 'pruned' as const, value: null, intermediate: [[0, 0.5]] as [number, number][] }];
    expect(tpe.sample(ctx(pruned))).not.toEqual(tpe.sample(ctx(base)));
  });

  it('rejects bad options', () => {
    expect(() => new TpeSampler({ nStartupTrials: -1 })).toThrow(MedtrainError);
    expect(() => new TpeSampler({ nEiCandidates: 0 })).toThrow(MedtrainError);
    expect(() => new TpeSampler({ priorWeight: 0 })).toThrow(MedtrainError);
    expect(() => new TpeSampler({ nStartupTrials: 2.5 })).toThrow(MedtrainError);
    expect(() => new TpeSampler({ multivariate: 'yes' as unknown as boolean })).toThrow(MedtrainError);
    expect(() => new TpeSampler({ constantLiar: 1 as unknown as boolean })).toThrow(MedtrainError);
  });

  it('is multivariate with the constant liar by default, as Optuna 5', () => {
    const tpe = new TpeSampler();
    expect([tpe.multivariate, tpe.constantLiar, tpe.nStartupTrials, tpe.nEiCandidates, tpe.priorWeight]).toEqual([true, true, 10, 24, 1]);
  });

  it('univariate on one parameter is multivariate on it: the same proposals', () => {
    const space: Space = { k: { kind: 'int', low: 1, high: 64, log: true } };
    const f = (p: Params): number => Math.abs(Math.log2(p.k as number) - 3);
    expect(search(new TpeSampler(), space, f, 30, 'one').map((t) => t.params)).toEqual(search(new TpeSampler({ multivariate: false }), space, f, 30, 'one').map((t) => t.params));
  });
});

describe('multivariate TPE', () => {
  it('keeps the joint structure: good trials at (−5, −5) and (5, 5) are not mistaken for (−5, 5) and (5, −5)', () => {
    // 90 poor trials anywhere, then the 10 best (γ(100) = 10) in two clusters on the diagonal. Each
    // parameter's good values alone are ±5, so one estimator per parameter also proposes the mirror
    // corners; the joint one draws a whole good point and stays on the diagonal.
    const history = (name: string): TrialRecord[] => {
      const rng = new Rng(name);
      const trials = search(new RandomSampler(), PLANE, () => 100, 90, name);
      for (let i = 0; i < 10; i++) {
        const c = i % 2 ? 5 : -5;
        trials.push({ number: 90 + i, params: { x: c + rng.uniform(-1, 1), y: c + rng.uniform(-1, 1) }, state: 'complete', value: 0, intermediate: [] });
      }
      return trials;
    };
    const histories = [0, 1, 2, 3, 4].map((h) => history(`clusters-${h}`));
    /** Of 100 proposals after each of the histories, the share within 2.5 of a good cluster, and within 2.5 of a mirror corner. */
    const shares = (sampler: Sampler): [number, number] => {
      const props = histories.flatMap((trials, h) => Array.from({ length: 100 }, (_, i) => sampler.sample({ space: PLANE, trials, direction: 'minimize', number: 100, rng: new Rng(`clusters-${h}`).fork(i) })));
      const near = (corners: [number, number][]): number => props.filter((p) => corners.some(([cx, cy]) => distanceTo(p, cx, cy) < 2.5)).length / props.length;
      return [near([[5, 5], [-5, -5]]), near([[5, -5], [-5, 5]])];
    };
    const [joint, jointMirror] = shares(new TpeSampler());
    const [apart, apartMirror] = shares(new TpeSampler({ multivariate: false }));
    // Measured: multivariate 98 % at the clusters and none at the mirror corners (none after any of
    // 20 such histories, at least 77 % at the clusters after each); univariate 61 % and 27 % (after
    // one history alone, from 3 % to 93 % at the mirror corners).
    expect(jointMirror).toBe(0);
    expect(joint).toBeGreaterThan(0.85);
    expect(apartMirror).toBeGreaterThan(0.15);
    expect(apart).toBeLessThan(joint - 0.2);
  });

  it('finds one of two optima on the diagonal sooner than univariate TPE and random search', () => {
    /** The median over 20 seeds of the best of 40 trials. */
    const best = (sampler: Sampler): number => median(Array.from({ length: 20 }, (_, s) => Math.min(...search(sampler, PLANE, twin, 40, `twin-${s}`).map((t) => t.value!))));
    const joint = best(new TpeSampler());
    const apart = best(new TpeSampler({ multivariate: false }));
    const random = best(new RandomSampler());
    // Measured: 0.195, 0.325 and 1.28. Over ten other sets of 20 seeds multivariate was the better of
    // the two TPEs every time (its median 0.31–0.78 of univariate's) and at least 3.3× better than
    // random search.
    expect(joint).toBeLessThan(apart);
    expect(joint).toBeLessThan(random / 2);
  });

  it('leaves out trials missing a parameter (or holding one outside the space); they still count in γ(n)', () => {
    const base = search(new RandomSampler(), PLANE, twin, 10, 'missing');
    /** Five proposals (five draws of the generator) after the given trials. */
    const proposals = (tpe: TpeSampler, trials: TrialRecord[]): Params[] => [0, 1, 2, 3, 4].map((k) => tpe.sample({ space: PLANE, trials, direction: 'minimize', number: 20, rng: new Rng('missing').fork(k) }));
    // A last trial, worse than all the others, at the best one's point: without y, with y outside [−10, 10], or whole.
    const worst = Math.max(...base.map((t) => t.value!)) + 1;
    const at = base.reduce((a, b) => (b.value! < a.value! ? b : a)).params;
    const last = (params: Params): TrialRecord[] => [...base, { number: 10, params, state: 'complete', value: worst, intermediate: [] }];
    const partial = last({ x: at.x! });
    // With γ held at 2, a whole trial there changes the proposals (it joins g); the others change nothing: they are in neither estimator.
    const fixed = new TpeSampler({ gamma: () => 2 });
    expect(proposals(fixed, last(at))).not.toEqual(proposals(fixed, base));
    expect(proposals(fixed, partial)).toEqual(proposals(fixed, base));
    expect(proposals(fixed, last({ x: at.x!, y: 50 }))).toEqual(proposals(fixed, base));
    // With Optuna's γ it counts among the n finished trials: γ(11) = 2 below instead of γ(10) = 1.
    expect(proposals(new TpeSampler(), partial)).not.toEqual(proposals(new TpeSampler(), base));
  });
});

describe('constant liar', () => {
  const LINE: Space = { x: { kind: 'uniform', low: 0, high: 1 } };
  const f = (p: Params): number => Math.abs((p.x as number) - 0.3);
  const running = (number: number, x: number): TrialRecord => ({ number, params: { x }, state: 'running', value: null, intermediate: [] });

  it('steers a proposal away from where trials are running', () => {
    // 20 finished trials say "near 0.3"; three trials already run at 0.29, 0.30 and 0.31.
    const trials = [...search(new RandomSampler(), LINE, f, 20, 'a'), running(20, 0.29), running(21, 0.3), running(22, 0.31)];
    /** The share of 200 proposals within 0.05 of 0.3. */
    const near = (sampler: Sampler): number => Array.from({ length: 200 }, (_, i) => sampler.sample({ space: LINE, trials, direction: 'minimize', number: 23, rng: new Rng('liar').fork(i) })).filter((p) => f(p) < 0.05).length / 200;
    // Measured: 0.96 without the liar, 0 with it (the running trials count as bad ones), univariate too.
    expect(near(new TpeSampler({ constantLiar: false }))).toBeGreaterThan(0.7);
    expect(near(new TpeSampler())).toBeLessThan(0.1);
    expect(near(new TpeSampler({ multivariate: false }))).toBeLessThan(0.1);
  });

  it('spreads trials proposed while the previous ones run; the trial being proposed is no liar', () => {
    /** Four trials proposed in a row, each while those before it run (a sweep with parallel = 4): the smallest gap between them. */
    const minGap = (sampler: Sampler, rep: number): number => {
      const trials = search(new RandomSampler(), LINE, f, 15, 'a');
      const xs: number[] = [];
      for (let j = 0; j < 4; j++) {
        const number = trials.length;
        const p = sampler.sample({ space: LINE, trials, direction: 'minimize', number, rng: new Rng(`parallel-${rep}`).fork(number) });
        xs.push(p.x as number);
        trials.push(running(number, p.x as number));
      }
      xs.sort((a, b) => a - b);
      return Math.min(...xs.slice(1).map((x, i) => x - xs[i]!));
    };
    const reps = Array.from({ length: 30 }, (_, r) => r);
    const liar = median(reps.map((r) => minGap(new TpeSampler(), r)));
    const honest = median(reps.map((r) => minGap(new TpeSampler({ constantLiar: false }), r)));
    // Measured: median smallest gap 0.059 with the liar, 0.0033 without.
    expect(liar).toBeGreaterThan(5 * honest);
    // A running record of the trial being proposed (a resumed sweep's) is not held against itself.
    const trials = search(new RandomSampler(), LINE, f, 15, 'a');
    const ctx = (t: TrialRecord[]): SampleContext => ({ space: LINE, trials: t, direction: 'minimize', number: 15, rng: new Rng('self').fork(15) });
    expect(new TpeSampler().sample(ctx([...trials, running(15, 0.3)]))).toEqual(new TpeSampler().sample(ctx(trials)));
  });
});

describe('truncated normal', () => {
  // Reference values from SciPy 1.17.1: scipy.stats.truncnorm.ppf(q, a, b) and .logpdf(x, a, b, loc, scale).
  const PPF: [q: number, a: number, b: number, x: number][] = [
    [0.5, -1, 2, 0.17116391801782482],
    [0.01, -3, -2, -2.9548904685981863],
    [0.999, 0.5, 4, 3.397375969441566],
    [1e-6, -40, -38, -38.36159675489437],
    [0.3, 8, 10, 8.0438016522851],
    [0.75, -0.2, 30, 1.0589339645883422],
  ];
  const LOGPDF: [x: number, a: number, b: number, loc: number, scale: number, logpdf: number][] = [
    [0.3, -1, 2, 0, 1, -0.7637722388802101],
    [-38.5, -40, -38, 0, 1, -15.48672251438461],
    [9.1, 8, 10, 0, 1, -7.310501361041432],
    [1.7, -2, 3, 1.5, 0.25, 0.1717510154701054],
    [0, -5, 5, 0, 1, -0.9189379599013646],
  ];

  it('ppf and logpdf equal SciPy’s, far in the tails too', () => {
    for (const [q, a, b, x] of PPF) expect(Math.abs(truncnormPpf(q, a, b) - x) / Math.max(1, Math.abs(x)), `ppf(${q}, ${a}, ${b})`).toBeLessThan(1e-10);
    for (const [x, a, b, loc, scale, lp] of LOGPDF) expect(Math.abs(truncnormLogPdf(x, a, b, loc, scale) - lp) / Math.max(1, Math.abs(lp)), `logpdf(${x}, ${a}, ${b})`).toBeLessThan(1e-12);
  });

  it('ppf inverts the CDF, holds its ends and stays inside [a, b]', () => {
    for (const [a, b] of [[-2, 1], [3, 3.001], [-60, -59], [25, 80], [-1e-3, 1e-3], [-0.5, 40]] as const) {
      expect(truncnormPpf(0, a, b)).toBe(a);
      expect(truncnormPpf(1, a, b)).toBe(b);
      for (const q of [1e-12, 0.1, 0.5, 0.9, 1 - 1e-12]) {
        const x = truncnormPpf(q, a, b);
        expect(x).toBeGreaterThanOrEqual(a);
        expect(x).toBeLessThanOrEqual(b);
        // The mass left of x over the whole mass, by logs: q again.
        const back = x <= a ? 0 : Math.exp(logGaussMass(a, x) - logGaussMass(a, b));
        expect(Math.abs(back - q), `[${a}, ${b}] q=${q}`).toBeLessThan(1e-9);
      }
    }
  });

  it('log Φ and its inverse are consistent from −1000 to 40', () => {
    for (const x of [-1000, -300, -38, -20.01, -19.99, -5, -1, 0, 0.5, 3, 6, 8]) {
      const y = logNdtr(x);
      expect(Number.isFinite(y)).toBe(true);
      expect(Math.abs(ndtriExp(y) - x) / Math.max(1, Math.abs(x)), `x = ${x}`).toBeLessThan(1e-9);
    }
    expect(logNdtr(-1000)).toBeCloseTo(-500007.8266948122, 8);
    expect(Math.abs(logNdtr(40))).toBe(0);
  });
});
