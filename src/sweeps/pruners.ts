/**
 * Pruners stop unpromising trials early, from the values trials report at each step (an epoch of a
 * training trial). Both follow Optuna's definitions and defaults:
 * - median: prune when the trial's best value so far is worse than the median of the completed
 *   trials' values at the same step (after `nStartupTrials` completed trials and `nWarmupSteps` steps);
 * - ASHA (asynchronous successive halving, Li et al. 2018): rung k is at step
 *   minResource·η^k; a trial reaching a rung goes on only if its value there is in the top 1/η of the
 *   values every trial has reported at that rung so far (the best one always goes on).
 * A pruner is a pure function of the trials' records, so a resumed sweep prunes as an uninterrupted one.
 */
import { MedtrainError } from '../util/errors.js';
import type { Direction, TrialRecord } from './space.js';

export interface Pruner {
  readonly name: string;
  /** Whether `trial`, which has just reported at its last step, should stop. */
  shouldPrune(trial: TrialRecord, trials: readonly TrialRecord[], direction: Direction): boolean;
}

function lastStep(t: TrialRecord): readonly [number, number] | undefined {
  return t.intermediate[t.intermediate.length - 1];
}

function valueAt(t: TrialRecord, step: number): number | undefined {
  return t.intermediate.find(([s]) => s === step)?.[1];
}

export interface MedianPrunerOptions {
  /** Completed trials needed before anything is pruned. Default 5. */
  nStartupTrials?: number;
  /** Steps of a trial before it may be pruned. Default 0. */
  nWarmupSteps?: number;
  /** Completed trials that must have reported at the step. Default 1. */
  nMinTrials?: number;
}

export class MedianPruner implements Pruner {
  readonly name = 'median';
  readonly nStartupTrials: number;
  readonly nWarmupSteps: number;
  readonly nMinTrials: number;

  constructor(o: MedianPrunerOptions = {}) {
    this.nStartupTrials = o.nStartupTrials ?? 5;
    this.nWarmupSteps = o.nWarmupSteps ?? 0;
    this.nMinTrials = o.nMinTrials ?? 1;
  }

  shouldPrune(trial: TrialRecord, trials: readonly TrialRecord[], direction: Direction): boolean {
    const last = lastStep(trial);
    if (!last) return false;
    const [step, value] = last;
    if (Number.isNaN(value)) return true;
    const completed = trials.filter((t) => t.state === 'complete');
    if (completed.length < this.nStartupTrials || step < this.nWarmupSteps) return false;
    const others = completed.map((t) => valueAt(t, step)).filter((v): v is number => v !== undefined && !Number.isNaN(v));
    if (others.length < this.nMinTrials) return false;
    const values = trial.intermediate.map(([, v]) => v).filter((v) => !Number.isNaN(v));
    const best = direction === 'maximize' ? Math.max(...values) : Math.min(...values);
    const m = median(others);
    return direction === 'maximize' ? best < m : best > m;
  }
}

/** The median, the mean of the two middle values for an even count (numpy's). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

export interface AshaPrunerOptions {
  /** The step of the first rung. Default 1. */
  minResource?: number;
  /** η: the share 1/η of a rung goes on. Default 4 (Optuna's). */
  reductionFactor?: number;
  /** Rungs below this are skipped (s in the paper). Default 0. */
  minEarlyStoppingRate?: number;
}

export class AshaPruner implements Pruner {
  readonly name = 'asha';
  readonly minResource: number;
  readonly reductionFactor: number;
  readonly minEarlyStoppingRate: number;

  constructor(o: AshaPrunerOptions = {}) {
    this.minResource = o.minResource ?? 1;
    this.reductionFactor = o.reductionFactor ?? 4;
    this.minEarlyStoppingRate = o.minEarlyStoppingRate ?? 0;
    if (!(this.minResource >= 1) || !(this.reductionFactor >= 2) || !(this.minEarlyStoppingRate >= 0)) {
      throw new MedtrainError('ASHA needs minResource >= 1, reductionFactor >= 2 and minEarlyStoppingRate >= 0', { code: 'bad-pruner', value: JSON.stringify(o) });
    }
  }

  /** The step of rung k. */
  rungStep(k: number): number {
    return this.minResource * this.reductionFactor ** (this.minEarlyStoppingRate + k);
  }

  shouldPrune(trial: TrialRecord, trials: readonly TrialRecord[], direction: Direction): boolean {
    const last = lastStep(trial);
    if (!last) return false;
    if (Number.isNaN(last[1])) return true;
    for (let k = 0; this.rungStep(k) <= last[0]; k++) {
      const step = this.rungStep(k);
      const value = valueAt(trial, step);
      if (value === undefined) continue; // the trial did not report at this rung
      if (Number.isNaN(value)) return true;
      const competing = [value, ...trials.filter((t) => t.number !== trial.number).map((t) => valueAt(t, step)).filter((v): v is number => v !== undefined && !Number.isNaN(v))];
      if (!promotable(value, competing, this.reductionFactor, direction)) return true;
    }
    return false;
  }
}

/** Whether `value` is in the top 1/η of the competing values (the best one always is). */
function promotable(value: number, competing: number[], eta: number, direction: Direction): boolean {
  const idx = Math.max(0, Math.floor(competing.length / eta) - 1);
  const s = [...competing].sort((a, b) => a - b);
  return direction === 'maximize' ? value >= s[s.length - 1 - idx]! : value <= s[idx]!;
}

export const PRUNER_SYNTAX = '"none", "median", "asha", or {"median": {nStartupTrials, nWarmupSteps, nMinTrials}} / {"asha": {minResource, reductionFactor, minEarlyStoppingRate}}';

/** A pruner from a spec's value: a name, or {name: options}. */
export function createPruner(spec: unknown, file?: string): Pruner | null {
  const [name, opts] = typeof spec === 'string' ? [spec, {}] : spec && typeof spec === 'object' && Object.keys(spec).length === 1 ? Object.entries(spec)[0]! : [undefined, undefined];
  const options = (opts ?? {}) as Record<string, unknown>;
  const known: Record<string, string[]> = { median: ['nStartupTrials', 'nWarmupSteps', 'nMinTrials'], asha: ['minResource', 'reductionFactor', 'minEarlyStoppingRate'] };
  if (name === 'none' || spec === null || spec === undefined) return null;
  if (typeof name !== 'string' || !(name in known) || typeof options !== 'object') {
    throw new MedtrainError('unknown pruner', { code: 'bad-pruner', ...(file && { file }), column: 'pruner', value: JSON.stringify(spec), hint: `use ${PRUNER_SYNTAX}` });
  }
  for (const [k, v] of Object.entries(options)) {
    if (!known[name]!.includes(k) || typeof v !== 'number' || !Number.isFinite(v)) {
      throw new MedtrainError(`the ${name} pruner has no option ${k} = ${JSON.stringify(v)}`, { code: 'bad-pruner', ...(file && { file }), column: `pruner.${name}.${k}`, value: JSON.stringify(v), hint: `its options are numbers: ${known[name]!.join(', ')}` });
    }
  }
  return name === 'median' ? new MedianPruner(options) : new AshaPruner(options);
}
