import { describe, expect, it } from 'vitest';
import { AshaPruner, createPruner, MedianPruner } from '../../src/sweeps/pruners.js';
import type { TrialRecord } from '../../src/sweeps/space.js';
import { MedtrainError } from '../../src/util/errors.js';

function trial(number: number, values: number[], state: TrialRecord['state'] = 'complete'): TrialRecord {
  return { number, params: {}, state, value: state === 'complete' ? values[values.length - 1]! : null, intermediate: values.map((v, i) => [i + 1, v] as const) };
}

describe('the median pruner (Optuna defaults: 5 startup trials, no warm-up)', () => {
  const done = [0.6, 0.7, 0.8, 0.9, 1.0].map((v, i) => trial(i, [v - 0.1, v]));

  it('prunes a trial whose best value so far is below the completed trials’ median at that step', () => {
    const p = new MedianPruner();
    // Medians of the completed trials: step 1 → 0.7, step 2 → 0.8.
    expect(p.shouldPrune(trial(5, [0.69], 'running'), [...done], 'maximize')).toBe(true);
    expect(p.shouldPrune(trial(5, [0.71], 'running'), [...done], 'maximize')).toBe(false);
    // The best value so far counts (0.85 at step 1 beats step 2's median 0.8).
    expect(p.shouldPrune(trial(5, [0.85, 0.5], 'running'), [...done], 'maximize')).toBe(false);
    // Minimizing: higher than the median is worse.
    expect(p.shouldPrune(trial(5, [0.75], 'running'), [...done], 'minimize')).toBe(true);
    expect(p.shouldPrune(trial(5, [0.65], 'running'), [...done], 'minimize')).toBe(false);
  });

  it('waits for its startup trials and warm-up steps, and prunes NaN', () => {
    expect(new MedianPruner().shouldPrune(trial(4, [0], 'running'), done.slice(0, 4), 'maximize')).toBe(false);
    expect(new MedianPruner({ nWarmupSteps: 2 }).shouldPrune(trial(5, [0], 'running'), done, 'maximize')).toBe(false);
    expect(new MedianPruner({ nStartupTrials: 0 }).shouldPrune(trial(5, [NaN], 'running'), [], 'maximize')).toBe(true);
    // Pruned and failed trials are not among the completed ones.
    expect(new MedianPruner().shouldPrune(trial(5, [0], 'running'), [...done.slice(0, 4), trial(9, [1, 1], 'pruned')], 'maximize')).toBe(false);
  });
});

describe('ASHA (Optuna defaults: min resource 1, reduction factor 4)', () => {
  it('puts rungs at minResource·η^k and promotes the top 1/η of each rung (the best always)', () => {
    const p = new AshaPruner({ reductionFactor: 2 });
    expect([0, 1, 2, 3].map((k) => p.rungStep(k))).toEqual([1, 2, 4, 8]);
    const others = [trial(0, [0.5, 0.6, 0.7, 0.8, 0.9]), trial(1, [0.6, 0.7, 0.8])];
    // Rung 0 (step 1) holds 0.5, 0.6 and the new value: with η = 2 only the best goes on.
    expect(p.shouldPrune(trial(2, [0.7], 'running'), others, 'maximize')).toBe(false);
    expect(p.shouldPrune(trial(2, [0.55], 'running'), others, 'maximize')).toBe(true);
    // Between rungs nothing is decided; at rung 1 (step 2): 0.6, 0.7, new → the best goes on.
    expect(p.shouldPrune(trial(2, [0.7, 0.65], 'running'), others, 'maximize')).toBe(true);
    expect(p.shouldPrune(trial(2, [0.7, 0.75], 'running'), others, 'maximize')).toBe(false);
    expect(p.shouldPrune(trial(2, [0.7, 0.75, 0.1], 'running'), others, 'maximize')).toBe(false); // step 3 is no rung
  });

  it('takes the first trial at a rung, keeps the top quarter of a crowded rung, and minimizes too', () => {
    const p = new AshaPruner();
    expect(p.shouldPrune(trial(0, [5], 'running'), [], 'minimize')).toBe(false);
    const rung = [1, 2, 3, 4, 5, 6, 7].map((v, i) => trial(i, [v]));
    // 8 values at rung 0: the top 8/4 = 2 go on (values 1 and 2 when minimizing).
    expect(p.shouldPrune(trial(7, [2], 'running'), rung, 'minimize')).toBe(false);
    expect(p.shouldPrune(trial(7, [2.5], 'running'), rung, 'minimize')).toBe(true);
    expect(p.shouldPrune(trial(7, [6.5], 'running'), rung, 'maximize')).toBe(false);
    expect(p.shouldPrune(trial(7, [5.5], 'running'), rung, 'maximize')).toBe(true);
  });
});

describe('pruners from a spec', () => {
  it('reads a name or a name with options, and names what is wrong', () => {
    expect(createPruner('none')).toBeNull();
    expect(createPruner('median')).toBeInstanceOf(MedianPruner);
    expect((createPruner({ asha: { reductionFactor: 3 } }) as AshaPruner).reductionFactor).toBe(3);
    expect(() => createPruner('hyperband', 'spec.json')).toThrow(/spec\.json[\s\S]*unknown pruner[\s\S]*use "none", "median", "asha"/);
    expect(() => createPruner({ asha: { eta: 3 } })).toThrow(MedtrainError);
    expect(() => createPruner({ asha: { eta: 3 } })).toThrow(/no option eta[\s\S]*minResource, reductionFactor/);
    expect(() => new AshaPruner({ reductionFactor: 1 })).toThrow(/reductionFactor >= 2/);
  });
});
