/**
 * The grid sampler: every combination of the space's values, in order (the last parameter varies
 * fastest), each proposed once. A grid takes `choice` and `int` parameters (every integer of the
 * range); a real range has no grid, which is an error naming the parameter.
 */
import { MedtrainError } from '../../util/errors.js';
import type { ParamValue, Params, Space } from '../space.js';
import type { SampleContext, Sampler } from './sampler.js';

/** The values of each parameter on the grid, in the space's order. */
function axes(space: Space): [string, ParamValue[]][] {
  return Object.entries(space).map(([key, d]) => {
    if (d.kind === 'choice') return [key, [...d.choices]];
    if (d.kind === 'int') {
      if (d.high - d.low > 10_000) throw new MedtrainError(`the grid over ${key} would have ${d.high - d.low + 1} values`, { code: 'bad-space', column: key, hint: 'list the values to try as a choice' });
      return [key, Array.from({ length: d.high - d.low + 1 }, (_, i) => d.low + i)];
    }
    throw new MedtrainError(`a grid needs the values of ${key}: a ${d.kind} range has none`, { code: 'bad-space', column: key, value: `[${d.low}, ${d.high}]`, hint: `give ${key} as {"choice": [...]}, or use the random or tpe sampler` });
  });
}

/** The number of points on the grid of a space. */
export function gridSize(space: Space): number {
  return axes(space).reduce((n, [, v]) => n * v.length, 1);
}

/** Point i of the grid (0-based, the last parameter fastest). */
function point(grid: [string, ParamValue[]][], i: number): Params {
  const p: Params = {};
  for (let k = grid.length - 1; k >= 0; k--) {
    const [key, values] = grid[k]!;
    p[key] = values[i % values.length]!;
    i = Math.floor(i / values.length);
  }
  return Object.fromEntries(grid.map(([key]) => [key, p[key]!]));
}

export class GridSampler implements Sampler {
  readonly name = 'grid';

  sample(ctx: SampleContext): Params {
    const grid = axes(ctx.space);
    const size = grid.reduce((n, [, v]) => n * v.length, 1);
    const seen = new Set(ctx.trials.filter((t) => t.number !== ctx.number).map((t) => JSON.stringify(t.params)));
    for (let i = 0; i < size; i++) {
      const p = point(grid, i);
      if (!seen.has(JSON.stringify(p))) return p;
    }
    throw new MedtrainError(`every one of the grid's ${size} points has been tried`, { code: 'grid-exhausted', hint: `ask for at most ${size} trials` });
  }
}
