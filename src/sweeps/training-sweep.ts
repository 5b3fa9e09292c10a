/**
 * The training sweep (`medtrain sweep SPEC`): a search over benchmark fields, each trial a training
 * run of the base benchmark with the trial's values, in the sweep folder:
 *
 *   S/sweep.json         the spec, every trial (parameters, state, value, per-epoch values), the best
 *   S/trials.csv         one row per trial: number, state, objective, parameters, epochs, seconds, run
 *   S/trial-NNN/         each trial's run folder (config.json, checkpoints, summary.json, …)
 *   S/experiment-log.jsonl
 *
 * A spec (JSON, or YAML) holds `base` (a benchmark name) and `space` (benchmark fields, each a
 * distribution: space.ts), and optionally `sampler` (grid, random, tpe; default tpe), `metric` (what
 * the objective is: a run's monitor, default val_macro_auroc, its best epoch's value), `direction`
 * (default: lowest for a loss, else highest), `trials`, `seed`, `pruner` (none, median, asha) and
 * `train` (flags added to every trial's `medtrain train`). Each trial runs as `medtrain train` in a
 * child process (runner.ts) with the metric as its monitor; after every epoch it reports the
 * metric, and a pruned trial stops there and is finished like an early-stopped run.
 */
import { join } from 'node:path';
import { monitorMode } from '../training/callbacks/callback.js';
import type { Benchmark } from '../training/benchmark/benchmark.js';
import { toCsv } from '../util/csv.js';
import { MedtrainError } from '../util/errors.js';
import { exists, writeFileAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { createPruner } from './pruners.js';
import { cannotStart, jobError, prepareRuns, runTrain, type RunsOptions } from './runner.js';
import { gridSize } from './samplers/grid.js';
import { parseSpace, type Direction, type Distribution, type ParamValue, type Params, type Space } from './space.js';
import { baseBenchmark, checkKeys, extraTrainFlags, fieldFlags, fieldOf, readSpec, specError, withValues, type SpecSource } from './spec.js';
import type { Sampler } from './samplers/sampler.js';
import { createSampler, SAMPLERS, sweep, type SamplerName, type SweepResult, type SweepTrial } from './study.js';

const log = createLogger('sweep');

const SPEC_KEYS = ['base', 'space', 'sampler', 'metric', 'direction', 'trials', 'seed', 'pruner', 'train'] as const;

/** A sweep spec as an object (a file holds the same). */
export interface SweepSpec {
  base: string;
  space: Record<string, unknown>;
  sampler?: SamplerName;
  metric?: string;
  direction?: Direction;
  trials?: number;
  seed?: number;
  pruner?: unknown;
  train?: Record<string, string | number | boolean>;
}

export interface TrainingSweepResult extends SweepResult {
  dir: string;
  metric: string;
  /** Epochs the trials trained, and the epochs the pruned trials did not train. */
  epochs: { trained: number; savedByPruning: number };
}

/** Integer fields take int or choice; real fields (the learning rate and its factor) any range. */
const INTEGER_FIELDS = ['epochs', 'batchSize', 'dim', 'seed', 'repeat'];
const REAL_FIELDS = ['learningRate', 'lrFactor'];

/** A sampled number as its field can hold it: a learning rate to 3 significant digits, a factor to 2 decimals. */
function snap(field: string, v: ParamValue): ParamValue {
  if (typeof v !== 'number') return v;
  if (field === 'learningRate') return Number(v.toPrecision(3));
  if (field === 'lrFactor') return Math.min(1, Math.max(0.01, Math.round(v * 100) / 100));
  return v;
}

function snapAll(params: Params): Params {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, snap(k, v)]));
}

/** A sampler whose proposals are snapped to what their fields hold, so a trial records what it trained. */
function snapping(inner: Sampler): Sampler {
  return { name: inner.name, sample: (ctx) => snapAll(inner.sample(ctx)) };
}

/** The space, with every key a benchmark field and every value it can take valid for that field. */
function checkSpace(src: SpecSource, base: Benchmark): Space {
  const space = parseSpace(src.raw.space, src.file ?? undefined);
  const out: Space = {};
  for (const [key, d] of Object.entries(space)) {
    const field = fieldOf(src, 'space', key);
    if (d.kind !== 'choice' && !INTEGER_FIELDS.includes(field) && !REAL_FIELDS.includes(field)) {
      throw specError(src, `space.${key}`, `${key} is not a number: list its values as a choice`, src.raw.space && (src.raw.space as Record<string, unknown>)[key], `as {"choice": [...]}`);
    }
    if (d.kind === 'uniform' || d.kind === 'loguniform') {
      if (INTEGER_FIELDS.includes(field)) throw specError(src, `space.${key}`, `${key} is a whole number: use int or intlog`, [d.low, d.high], `as {"int": [${Math.ceil(d.low)}, ${Math.floor(d.high)}]}`);
    }
    if (d.kind !== 'choice' && (snap(field, d.low) !== d.low || snap(field, d.high) !== d.high)) {
      // Rounding is monotonic, so bounds it keeps keep every rounded sample inside the range.
      throw specError(src, `space.${key}`, `${key} is rounded to ${field === 'learningRate' ? '3 significant digits' : '2 decimals'}: its bounds must be too`, [d.low, d.high], `as [${snap(field, d.low)}, ${snap(field, d.high)}]`);
    }
    const samples: ParamValue[] = d.kind === 'choice' ? [...d.choices] : [d.low, d.high];
    for (const v of samples) withValues(src, 'space', base, { [field]: snap(field, v) });
    out[field] = d as Distribution;
  }
  return out;
}

/** Read and check a sweep spec; everything that can be wrong with it is an error before any trial runs. */
export async function readSweepSpec(spec: string | SweepSpec) {
  const src = await readSpec(spec as string | Record<string, unknown>, 'sweep spec');
  checkKeys(src, SPEC_KEYS, 'sweep spec');
  const base = baseBenchmark(src);
  if (base.fold) throw specError(src, 'base', 'a sweep trains whole runs: leave the fold out of the base name', base.name);
  const space = checkSpace(src, base);
  const sampler = (src.raw.sampler ?? 'tpe') as SamplerName;
  if (!SAMPLERS.includes(sampler)) throw specError(src, 'sampler', 'unknown sampler', src.raw.sampler, `use ${SAMPLERS.join(', ')}`);
  if (sampler === 'grid') {
    try {
      gridSize(space);
    } catch (e) {
      if (e instanceof MedtrainError) throw specError(src, `space.${String(e.column)}`, e.problem, e.value, e.hint); // a real range has no grid
      throw e;
    }
  }
  const metric = src.raw.metric ?? 'val_macro_auroc';
  if (typeof metric !== 'string' || !/^val_/.test(metric)) throw specError(src, 'metric', 'the metric is a validation value a run reports every epoch', metric, 'as val_macro_auroc, val_loss or val_auroc/Edema');
  const direction = (src.raw.direction ?? (monitorMode(metric) === 'min' ? 'minimize' : 'maximize')) as Direction;
  if (direction !== 'minimize' && direction !== 'maximize') throw specError(src, 'direction', 'is minimize or maximize', src.raw.direction);
  const int = (key: string, min: number): number | undefined => {
    const v = src.raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw specError(src, key, `needs a whole number of at least ${min}`, v);
    return v;
  };
  const trials = int('trials', 1);
  const seed = int('seed', 0) ?? 0;
  let pruner;
  try {
    pruner = createPruner(src.raw.pruner ?? 'none', src.file ?? undefined);
  } catch (e) {
    if (e instanceof MedtrainError) throw specError(src, e.column === undefined ? 'pruner' : String(e.column), e.problem, src.raw.pruner, e.hint);
    throw e;
  }
  return { src, base, space, sampler, metric, direction, trials, seed, pruner, train: extraTrainFlags(src) };
}

/** Run a training sweep (see the top of this file). */
export async function runSweep(spec: string | SweepSpec, o: RunsOptions): Promise<TrainingSweepResult> {
  const s = await readSweepSpec(spec);
  const { dir, parallel, data, common } = await prepareRuns(o, 'sweep.json', 'sweep');
  const trialDir = (n: number) => join(dir, `trial-${String(n).padStart(3, '0')}`);
  const newRunFlags = (params: Params) => ['--benchmark', s.base.name, ...fieldFlags(params), ...data, '--monitor', s.metric, ...s.train];

  // The first trial's settings, checked by the train command itself before anything runs.
  const why = await cannotStart([...newRunFlags({}), ...common], dir);
  if (why) throw new MedtrainError(`a trial of this sweep cannot start: ${why}`, { code: 'bad-spec', ...(s.src.file && { file: s.src.file }), hint: 'fix the spec (its base, train flags or metric) or the data folder' });

  const trialRows = (trials: readonly SweepTrial[]) =>
    trials.map((t) => ({
      number: t.number,
      state: t.state,
      value: t.value ?? '',
      ...Object.fromEntries(Object.keys(s.space).map((k) => [k, t.params[k] === undefined ? '' : String(t.params[k])])),
      epochs: t.intermediate.length,
      seconds: t.seconds === undefined ? '' : t.seconds.toFixed(1),
      run: t.run ?? '',
      error: t.error ?? '',
    }));
  const writeTable = (trials: readonly SweepTrial[]) => writeFileAtomic(join(dir, 'trials.csv'), toCsv(trialRows(trials), ['number', 'state', 'value', ...Object.keys(s.space), 'epochs', 'seconds', 'run', 'error']));

  log.info(`sweep of ${s.base.name} over ${Object.keys(s.space).join(', ')}: ${s.sampler}${s.pruner ? ` with the ${s.pruner.name} pruner` : ''}, ${s.direction} ${s.metric}; folder ${dir}`);
  const result = await sweep({
    space: s.space,
    sampler: snapping(createSampler(s.sampler)),
    pruner: s.pruner,
    direction: s.direction,
    ...(s.trials !== undefined && { trials: s.trials }),
    seed: s.seed,
    parallel,
    dir,
    spec: { base: s.base.name, metric: s.metric, train: s.train, data: data[1] ?? null },
    ...(o.signal && { signal: o.signal }),
    onTrial: (_t, trials) => writeTable(trials),
    objective: async (trial) => {
      const run = trialDir(trial.number);
      const resuming = await exists(join(run, 'config.json'));
      if (resuming) log.info(`trial ${trial.number}: resuming ${run}`);
      const r = await runTrain({
        args: [...(resuming ? ['--resume', run] : [...newRunFlags(trial.params), '--out', run]), ...common, '--sweep-trial'],
        ...(o.signal && { signal: o.signal }),
        onEpoch: (epoch, logs) => {
          const v = logs[s.metric];
          if (typeof v !== 'number') return true;
          trial.report(epoch, v);
          const prune = trial.shouldPrune();
          if (prune) log.info(`trial ${trial.number}: pruned after epoch ${epoch} (${s.metric} ${v.toFixed(4)})`);
          return !prune;
        },
      });
      if (!r.summary) throw new MedtrainError(`trial ${trial.number}'s run failed (${jobError(r)})`, { code: 'trial-failed', file: run });
      const best = r.summary.best as { monitor?: string; value?: number | null } | undefined;
      const pruned = (r.summary.stopped as { kind?: string } | null)?.kind === 'pruned';
      const value = best?.monitor === s.metric && typeof best.value === 'number' ? best.value : null;
      return { value, pruned, run: r.summary.run };
    },
  });
  await writeTable(result.trials);
  const planned = (t: SweepTrial) => Number(t.params.epochs ?? s.base.epochs);
  const trained = result.trials.reduce((n, t) => n + t.intermediate.length, 0);
  const saved = result.trials.filter((t) => t.state === 'pruned').reduce((n, t) => n + planned(t) - t.intermediate.length, 0);
  const b = result.best;
  log.info(b ? `best: trial ${b.number}, ${s.metric} ${b.value!.toFixed(4)} with ${JSON.stringify(b.params)} (${b.run})` : 'no trial completed');
  return { ...result, dir, metric: s.metric, epochs: { trained, savedByPruning: saved } };
}
