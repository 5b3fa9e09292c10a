/**
 * A sampler proposes a trial's parameters from the space and the trials so far. It draws only from
 * the generator it is given (seeded per trial: the same seed and history propose the same trial).
 */
import type { Rng } from '../../util/rng.js';
import type { Direction, Params, Space, TrialRecord } from '../space.js';

export interface SampleContext {
  space: Space;
  /** Every trial so far (running ones included), by number. */
  trials: readonly TrialRecord[];
  direction: Direction;
  /** The number of the trial being proposed. */
  number: number;
  rng: Rng;
}

export interface Sampler {
  readonly name: string;
  sample(ctx: SampleContext): Params;
}
