/**
 * Random search: every parameter drawn on its own, ignoring the trials so far. The baseline every
 * other sampler has to beat, and the TPE sampler's draw for its first (startup) trials. Draws follow
 * Optuna's RandomSampler: a choice uniformly, a real uniformly (on the log scale for loguniform), an
 * integer uniformly over low..high, and a log-scale integer uniformly in log space over
 * [low − ½, high + ½], then rounded and clamped, so each integer gets the log-width of its cell.
 */
import type { Distribution, ParamValue, Params } from '../space.js';
import type { Rng } from '../../util/rng.js';
import type { SampleContext, Sampler } from './sampler.js';

/** One independent draw from a distribution. */
export function sampleDistribution(d: Distribution, rng: Rng): ParamValue {
  switch (d.kind) {
    case 'choice':
      return d.choices[rng.int(d.choices.length)]!;
    case 'uniform':
      return rng.uniform(d.low, d.high);
    case 'loguniform':
      return Math.min(d.high, Math.max(d.low, Math.exp(rng.uniform(Math.log(d.low), Math.log(d.high)))));
    case 'int':
      if (!d.log) return d.low + rng.int(d.high - d.low + 1);
      return Math.min(d.high, Math.max(d.low, Math.round(Math.exp(rng.uniform(Math.log(d.low - 0.5), Math.log(d.high + 0.5))))));
  }
}

export class RandomSampler implements Sampler {
  readonly name = 'random';

  sample(ctx: SampleContext): Params {
    const params: Params = {};
    for (const [key, d] of Object.entries(ctx.space)) params[key] = sampleDistribution(d, ctx.rng);
    return params;
  }
}
