import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GridSampler, gridSize } from '../../src/sweeps/samplers/grid.js';
import { parseSpace } from '../../src/sweeps/space.js';
import { sweep, TrialPruned, type Trial } from '../../src/sweeps/study.js';
import { MedtrainError } from '../../src/util/errors.js';
import { thrownBy } from '../helpers/errors.js';
import { tempDir } from '../data/fixtures.js';

const tmp = tempDir('sweep');
afterAll(tmp.cleanup);

const space = parseSpace({ x: { uniform: [-5, 10] }, y: { uniform: [0, 15] } });
/** Branin, minimum 0.397887 at (-π, 12.275), (π, 2.275), (9.42478, 2.475). */
function branin(t: Trial): number {
  const x = t.params.x as number;
  const y = t.params.y as number;
  return (y - (5.1 / (4 * Math.PI ** 2)) * x ** 2 + (5 / Math.PI) * x - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x) + 10;
}

describe('space specs', () => {
  it('reads every distribution and names what is wrong, with the file and the key', () => {
    expect(parseSpace({ a: { choice: [1, 'b', true] }, b: { uniform: [0, 1] }, c: { loguniform: [1e-5, 1e-1] }, d: { int: [1, 4] }, e: { intlog: [1, 64] } })).toEqual({
      a: { kind: 'choice', choices: [1, 'b', true] },
      b: { kind: 'uniform', low: 0, high: 1 },
      c: { kind: 'loguniform', low: 1e-5, high: 1e-1 },
      d: { kind: 'int', low: 1, high: 4, log: false },
      e: { kind: 'int', low: 1, high: 64, log: true },
    });
    const cases: [unknown, RegExp][] = [
      [{}, /space.*is empty/],
      [[], /needs a space: an object of parameters/],
      [{ a: { choice: [] } }, /space's a: choice needs a non-empty list/],
      [{ a: { uniform: [1, 0] } }, /a: uniform needs low < high/],
      [{ a: { loguniform: [0, 1] } }, /a: loguniform needs low > 0/],
      [{ a: { int: [0.5, 2] } }, /a: int needs whole numbers/],
      [{ a: { normal: [0, 1] } }, /a: unknown distribution 'normal'/],
      [{ a: { uniform: [0, 1], choice: [1] } }, /a: needs exactly one distribution/],
      [{ a: { choice: [1, 1] } }, /choice lists a value twice/],
    ];
    for (const [raw, message] of cases) {
      const e = thrownBy(() => parseSpace(raw, 'sweep.json'));
      expect(e).toBeInstanceOf(MedtrainError);
      expect(e.message, JSON.stringify(raw)).toMatch(message);
      expect(e.message).toContain('sweep.json');
    }
  });
});

describe('sweep() over a function', () => {
  it('grid: every point once, the last parameter fastest; a real range has no grid', async () => {
    const s = parseSpace({ a: { choice: ['p', 'q'] }, b: { int: [1, 3] } });
    expect(gridSize(s)).toBe(6);
    const r = await sweep({ space: s, sampler: 'grid', objective: (t) => (t.params.a === 'q' ? 10 : 0) + (t.params.b as number) });
    expect(r.trials.map((t) => `${t.params.a}${t.params.b}`)).toEqual(['p1', 'p2', 'p3', 'q1', 'q2', 'q3']);
    expect(r.best?.params).toEqual({ a: 'p', b: 1 });
    await expect(sweep({ space, sampler: 'grid', objective: branin })).rejects.toThrow(/a grid needs the values of x: a uniform range has none/);
    await expect(sweep({ space: s, sampler: 'grid', trials: 7, objective: () => 0 })).rejects.toThrow(/grid has 6 points, fewer than the 7 trials/);
    expect(new GridSampler().name).toBe('grid');
  });

  it('the same seed proposes the same trials; another seed others', async () => {
    const a = await sweep({ space, sampler: 'tpe', trials: 15, seed: 3, objective: branin });
    const b = await sweep({ space, sampler: 'tpe', trials: 15, seed: 3, objective: branin });
    const c = await sweep({ space, sampler: 'tpe', trials: 15, seed: 4, objective: branin });
    expect(b.trials.map((t) => t.params)).toEqual(a.trials.map((t) => t.params));
    expect(c.trials.map((t) => t.params)).not.toEqual(a.trials.map((t) => t.params));
    expect(a.best!.value).toBe(Math.min(...a.trials.map((t) => t.value!)));
  });

  it('prunes with reported values: a pruned trial stops, keeps what it reported, and is not the best', async () => {
    let steps = 0;
    const r = await sweep({
      space: parseSpace({ rate: { choice: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] } }),
      sampler: 'grid',
      pruner: 'asha',
      direction: 'maximize',
      objective: (t) => {
        let v = 0;
        for (let step = 1; step <= 8; step++) {
          steps++;
          v = (t.params.rate as number) * step;
          t.report(step, v);
          if (t.shouldPrune()) throw new TrialPruned();
        }
        return v;
      },
    });
    // Grid order is ascending, so every new trial beats the earlier ones and goes on: none is pruned ...
    expect(r.trials.every((t) => t.state === 'complete')).toBe(true);
    const down = await sweep({
      space: parseSpace({ rate: { choice: [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1] } }),
      sampler: 'grid',
      pruner: 'asha',
      direction: 'maximize',
      objective: (t) => {
        for (let step = 1; step <= 8; step++) {
          steps++;
          t.report(step, (t.params.rate as number) * step);
          if (t.shouldPrune()) throw new TrialPruned();
        }
        return (t.params.rate as number) * 8;
      },
    });
    // ... in descending order every trial after the first trails at rung 0 and stops at its first step.
    expect(down.trials.map((t) => t.state)).toEqual(['complete', ...Array<string>(7).fill('pruned')]);
    expect(down.trials.slice(1).every((t) => t.intermediate.length === 1)).toBe(true);
    expect(down.best!.number).toBe(0);
    expect(steps).toBe(64 + 8 + 7);
  });

  it('a failed trial is recorded and the sweep goes on; three in a row stop it with the error', async () => {
    const r = await sweep({ space, sampler: 'random', trials: 4, objective: (t) => (t.number === 1 ? Promise.reject(new Error('out of memory')) : branin(t)) });
    expect(r.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'complete', 'complete']);
    expect(r.trials[1]!.error).toBe('out of memory');
    await expect(sweep({ space, sampler: 'random', trials: 9, objective: () => Promise.reject(new Error('no data folder')) })).rejects.toThrow(/3 trials in a row failed, the last with: no data folder/);
  });

  it('in a folder: stopped and started again, it keeps finished trials, runs the interrupted one with its parameters, and ends as an uninterrupted sweep', async () => {
    const dir = join(tmp.dir, 'resumed');
    const whole = await sweep({ space, sampler: 'tpe', trials: 14, seed: 9, objective: branin });
    const stop = new AbortController();
    const seen: number[] = [];
    const first = await sweep({
      space,
      sampler: 'tpe',
      trials: 14,
      seed: 9,
      dir,
      signal: stop.signal,
      objective: async (t) => {
        seen.push(t.number);
        if (t.number === 12) {
          stop.abort(); // killed while trial 12 runs
          throw new Error('killed');
        }
        return branin(t);
      },
    });
    expect(first.trials.filter((t) => t.state === 'complete')).toHaveLength(12);
    expect(first.trials[12]!.state).toBe('running');
    const saved = JSON.parse(readFileSync(join(dir, 'sweep.json'), 'utf8'));
    expect(saved.trials).toHaveLength(13);
    const again: number[] = [];
    const second = await sweep({ space, sampler: 'tpe', trials: 14, seed: 9, dir, objective: (t) => (again.push(t.number), branin(t)) });
    expect(again).toEqual([12, 13]);
    expect(second.trials.map((t) => t.params)).toEqual(whole.trials.map((t) => t.params));
    expect(second.best!.value).toBe(whole.best!.value);
    // Another sweep in the same folder is refused, naming what differs.
    await expect(sweep({ space, sampler: 'random', trials: 14, seed: 9, dir, objective: branin })).rejects.toThrow(/holds another sweep: its sampler differs/);
  });
});
