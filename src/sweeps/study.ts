/**
 * sweep(): a hyperparameter search over a space. A sampler proposes each trial's parameters, the
 * objective scores them (reporting values along the way, which a pruner may stop early), and the
 * best trial wins. The objective is any function, so a search can be tested without training; the
 * training sweep (training-sweep.ts) gives one that trains a benchmark.
 *
 * With `dir`, the sweep lives in that folder: sweep.json (the spec, every trial with its parameters,
 * state, value and reported values, and the best) is rewritten atomically at every change. Started
 * again on the same folder, a sweep keeps its finished trials and runs its interrupted ones again
 * with the same parameters (a training trial resumes from its checkpoints); a folder that holds
 * another sweep is an error. Trial n draws from the seed's stream n, so with one trial at a time the
 * same seed proposes the same trials.
 */
import { join } from 'node:path';
import { MedtrainError } from '../util/errors.js';
import { readDocument } from '../util/document.js';
import { exists, writeFileAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import { createPruner, type Pruner } from './pruners.js';
import { GridSampler, gridSize } from './samplers/grid.js';
import { RandomSampler } from './samplers/random.js';
import type { Sampler } from './samplers/sampler.js';
import { TpeSampler } from './samplers/tpe.js';
import { contains, toSpace, type Direction, type Params, type Space, type SpaceSpec, type TrialRecord } from './space.js';

const log = createLogger('sweep');

export const SWEEP_FORMAT = 'medtrain-sweep/1';
export const SAMPLERS = ['grid', 'random', 'tpe'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** A trial as its objective sees it. */
export interface Trial {
  readonly number: number;
  readonly params: Params;
  /** Values reported so far (a resumed trial starts with those of its earlier attempt). */
  readonly intermediate: readonly (readonly [number, number])[];
  /** Report the objective's value at a step (an epoch); a step reported again replaces the value. */
  report(step: number, value: number): void;
  /** Whether the pruner says to stop now (then throw TrialPruned, or return the value so far). */
  shouldPrune(): boolean;
}

/** Thrown by an objective that stops because its trial was pruned. */
export class TrialPruned extends Error {
  constructor(message = 'pruned') {
    super(message);
    this.name = 'TrialPruned';
  }
}

/** What an objective returns: the value, or the value and whether it stopped because it was pruned. */
export type ObjectiveResult = number | { value: number | null; pruned?: boolean; run?: string };

/** A trial as sweep.json keeps it. */
export interface SweepTrial extends TrialRecord {
  /** The run folder of a training trial. */
  run?: string;
  error?: string;
  seconds?: number;
}

export interface SweepOptions {
  /** The parameters and their distributions, as a spec writes them (or as parseSpace reads them). */
  space: Space | SpaceSpec;
  objective: (trial: Trial) => ObjectiveResult | Promise<ObjectiveResult>;
  /** Default tpe. */
  sampler?: SamplerName | Sampler;
  /** Default none. */
  pruner?: 'none' | 'median' | 'asha' | Pruner | null;
  /** Default minimize. */
  direction?: Direction;
  /** Trials in all (finished ones of a resumed sweep included). Default: the grid's size for grid, else 20. */
  trials?: number;
  /** Default 0. */
  seed?: number;
  /** Trials run at once. Default 1. */
  parallel?: number;
  /** The sweep's folder (sweep.json), to resume from and write to. Default none (in memory). */
  dir?: string;
  /** Recorded in sweep.json, and compared when the sweep is resumed: what defines the sweep beyond the space. */
  spec?: Record<string, unknown>;
  /** Called when a trial finishes, with every trial so far. */
  onTrial?: (t: SweepTrial, trials: readonly SweepTrial[]) => void | Promise<void>;
  /** Stops starting trials; the running ones finish. */
  signal?: AbortSignal;
}

export interface SweepResult {
  direction: Direction;
  trials: SweepTrial[];
  /** The best complete trial, or null when none completed. */
  best: SweepTrial | null;
}

interface SweepFile {
  format: typeof SWEEP_FORMAT;
  spec: Record<string, unknown>;
  direction: Direction;
  best: { number: number; params: Params; value: number; run?: string } | null;
  trials: SweepTrial[];
}

/** A sampler by name (an object is taken as it is). */
export function createSampler(s: SweepOptions['sampler']): Sampler {
  if (s === undefined || s === 'tpe') return new TpeSampler();
  if (s === 'random') return new RandomSampler();
  if (s === 'grid') return new GridSampler();
  if (typeof s === 'object') return s;
  throw new MedtrainError('unknown sampler', { code: 'bad-sampler', column: 'sampler', value: String(s), hint: `use ${SAMPLERS.join(', ')}` });
}

/** The better of two values in a direction. */
export function better(a: number, b: number, direction: Direction): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

export function bestTrial<T extends TrialRecord>(trials: readonly T[], direction: Direction): T | null {
  let best: T | null = null;
  for (const t of trials) if (t.state === 'complete' && t.value !== null && Number.isFinite(t.value) && (!best || better(t.value, best.value!, direction))) best = t;
  return best;
}

/** Run a sweep (see the top of this file). */
export async function sweep(options: SweepOptions): Promise<SweepResult> {
  const o = { ...options, space: toSpace(options.space) };
  const direction = o.direction ?? 'minimize';
  const sampler = createSampler(o.sampler);
  const pruner = o.pruner && typeof o.pruner === 'object' ? o.pruner : createPruner(o.pruner ?? 'none');
  const total = o.trials ?? (sampler.name === 'grid' ? gridSize(o.space) : 20);
  if (!Number.isSafeInteger(total) || total < 1) throw new MedtrainError('a sweep needs at least one trial', { code: 'bad-sweep', column: 'trials', value: total });
  if (sampler.name === 'grid' && total > gridSize(o.space)) throw new MedtrainError(`the grid has ${gridSize(o.space)} points, fewer than the ${total} trials asked for`, { code: 'bad-sweep', column: 'trials', value: total, hint: `ask for at most ${gridSize(o.space)} trials, or widen the grid` });
  const parallel = o.parallel ?? 1;
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new MedtrainError('--parallel needs a whole number of at least 1', { code: 'bad-flag', column: '--parallel', value: parallel });
  const seed = o.seed ?? 0;
  const spec = { ...o.spec, space: o.space, sampler: sampler.name, pruner: pruner?.name ?? 'none', direction, seed };
  const file = o.dir ? join(o.dir, 'sweep.json') : null;
  const trials: SweepTrial[] = file ? await loadTrials(file, spec, o.space) : [];

  let writing = Promise.resolve();
  const save = (): Promise<void> => {
    if (!file) return Promise.resolve();
    const best = bestTrial(trials, direction);
    const body: SweepFile = { format: SWEEP_FORMAT, spec, direction, best: best && { number: best.number, params: best.params, value: best.value!, ...(best.run && { run: best.run }) }, trials };
    const text = `${JSON.stringify(body, null, 1)}\n`;
    writing = writing.then(() => writeFileAtomic(file, text));
    return writing;
  };

  let failedInARow = 0;
  let lastError: unknown = null;
  const runOne = async (t: SweepTrial): Promise<void> => {
    const t0 = performance.now();
    const trial: Trial = {
      number: t.number,
      params: t.params,
      get intermediate() {
        return t.intermediate;
      },
      report(step, value) {
        const rest = t.intermediate.filter(([s]) => s !== step);
        t.intermediate = [...rest, [step, value] as const].sort((a, b) => a[0] - b[0]);
        void save();
      },
      shouldPrune: () => (pruner ? pruner.shouldPrune(t, trials, direction) : false),
    };
    try {
      const r = await o.objective(trial);
      const { value, pruned, run } = typeof r === 'number' ? { value: r, pruned: false, run: undefined } : r;
      if (run) t.run = run;
      if (pruned) {
        t.state = 'pruned';
        t.value = null;
      } else {
        if (value === null || !Number.isFinite(value)) throw new MedtrainError(`the objective gave ${String(value)}`, { code: 'bad-objective' });
        t.state = 'complete';
        t.value = value;
      }
      failedInARow = 0;
    } catch (e) {
      if (o.signal?.aborted && !(e instanceof TrialPruned)) {
        // Stopped from outside (Ctrl-C): the trial stays running, to run again when the sweep does.
        log.warn(`trial ${t.number} stopped; it runs again when the sweep is started again`);
        await save();
        return;
      }
      if (e instanceof TrialPruned) {
        t.state = 'pruned';
        t.value = null;
      } else {
        t.state = 'failed';
        t.value = null;
        t.error = e instanceof Error ? e.message : String(e);
        lastError = e;
        failedInARow++;
        log.warn(`trial ${t.number} failed: ${t.error.split('\n')[0]}`);
      }
    }
    t.seconds = (performance.now() - t0) / 1000;
    await save();
    log.info(`trial ${t.number} ${t.state}${t.value !== null ? `: ${t.value.toPrecision(6)}` : ''} ${JSON.stringify(t.params)}`);
    await o.onTrial?.(t, trials);
  };

  // Interrupted trials first (same parameters), then new ones until the budget is spent.
  const queue = trials.filter((t) => t.state === 'running');
  if (queue.length) log.info(`resuming ${queue.length} interrupted trial(s): ${queue.map((t) => t.number).join(', ')}`);
  const next = (): SweepTrial | null => {
    if (o.signal?.aborted || failedInARow >= 3) return null;
    const resumed = queue.shift();
    if (resumed) return resumed;
    if (trials.length >= total) return null;
    const number = trials.length;
    const params = sampler.sample({ space: o.space, trials, direction, number, rng: new Rng(seed).fork(`trial-${number}`) });
    const t: SweepTrial = { number, params, state: 'running', value: null, intermediate: [] };
    trials.push(t);
    return t;
  };
  const worker = async (): Promise<void> => {
    for (let t = next(); t; t = next()) {
      await save();
      await runOne(t);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  await save();
  await writing;
  if (failedInARow >= 3) {
    const why = lastError instanceof Error ? lastError.message : String(lastError);
    throw new MedtrainError(`the sweep stopped: ${failedInARow} trials in a row failed, the last with: ${why.split('\n')[0]}`, { code: 'sweep-failed', ...(o.dir && { file: o.dir }), hint: 'fix what the trials say (each failed trial is in sweep.json with its error), then run the sweep again: finished trials are kept', cause: lastError });
  }
  return { direction, trials, best: bestTrial(trials, direction) };
}

/** A resumed sweep's trials, checked against the spec and the space. */
async function loadTrials(file: string, spec: Record<string, unknown>, space: Space): Promise<SweepTrial[]> {
  if (!(await exists(file))) return [];
  const saved = (await readDocument(file, 'sweep file')) as SweepFile;
  if (saved.format !== SWEEP_FORMAT || !Array.isArray(saved.trials)) throw new MedtrainError('not a sweep file medtrain wrote', { code: 'bad-sweep', file, hint: 'give the sweep a new folder' });
  const keys = [...new Set([...Object.keys(spec), ...Object.keys(saved.spec ?? {})])];
  const differs = keys.find((k) => JSON.stringify(spec[k]) !== JSON.stringify(saved.spec?.[k]));
  if (differs) {
    throw new MedtrainError(`the folder holds another sweep: its ${differs} differs from this one's`, { code: 'sweep-mismatch', file, column: differs, value: JSON.stringify(saved.spec?.[differs]), hint: 'give this sweep a new folder, or run the spec that made this one to continue it' });
  }
  for (const t of saved.trials) {
    for (const [k, v] of Object.entries(t.params)) {
      if (!space[k] || !contains(space[k], v)) throw new MedtrainError(`trial ${t.number}'s ${k} = ${JSON.stringify(v)} is outside the space`, { code: 'bad-sweep', file, column: k, hint: 'give this sweep a new folder' });
    }
  }
  return saved.trials;
}
