/**
 * A search space: named parameters, each with its distribution, as a sweep spec writes them:
 * `{"learningRate": {"loguniform": [1e-5, 1e-2]}, "batchSize": {"choice": [16, 32]}}`.
 * `choice` lists values; `uniform` and `loguniform` take [low, high] of real numbers; `int` takes
 * [low, high] of integers, both included (`intlog` for an integer on a log scale). The one parser and
 * the one record of a trial's state, shared by the samplers, the pruners and the sweep.
 */
import { MedtrainError } from '../util/errors.js';

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;

export type Distribution =
  | { kind: 'choice'; choices: readonly ParamValue[] }
  | { kind: 'uniform'; low: number; high: number }
  | { kind: 'loguniform'; low: number; high: number }
  | { kind: 'int'; low: number; high: number; log: boolean };

export type Space = Record<string, Distribution>;

/** A space as a spec writes it: `{"lr": {"loguniform": [1e-5, 1e-2]}, "batch": {"choice": [16, 32]}}`. */
export type SpaceSpec = Record<string, { choice: ParamValue[] } | { uniform: [number, number] } | { loguniform: [number, number] } | { int: [number, number] } | { intlog: [number, number] }>;

export type Direction = 'minimize' | 'maximize';

/** A trial as the samplers and pruners see it. */
export interface TrialRecord {
  number: number;
  params: Params;
  state: 'running' | 'complete' | 'pruned' | 'failed';
  /** The objective (complete trials); null otherwise. */
  value: number | null;
  /** The values reported along the way: [step, value], steps ascending (epochs for a training trial). */
  intermediate: readonly (readonly [number, number])[];
}

export const DISTRIBUTION_SYNTAX = '{"choice": [a, b, …]}, {"uniform": [low, high]}, {"loguniform": [low, high]}, {"int": [low, high]} or {"intlog": [low, high]}';

function bad(key: string, message: string, value: unknown, file?: string): MedtrainError {
  return new MedtrainError(`the space's ${key}: ${message}`, { code: 'bad-space', ...(file && { file }), column: key, value: JSON.stringify(value), hint: `write each parameter as ${DISTRIBUTION_SYNTAX}` });
}

/** Read a space from a spec's JSON (or YAML) object. `file` names the spec in errors. */
export function parseSpace(raw: unknown, file?: string): Space {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new MedtrainError('the sweep spec needs a space: an object of parameters', { code: 'bad-space', ...(file && { file }), column: 'space', value: JSON.stringify(raw), hint: `as "space": {"learningRate": {"loguniform": [1e-5, 1e-2]}}; each parameter ${DISTRIBUTION_SYNTAX}` });
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) throw bad('space', 'is empty', raw, file);
  const space: Space = {};
  for (const [key, d] of entries) {
    const kinds = typeof d === 'object' && d !== null && !Array.isArray(d) ? Object.keys(d) : [];
    if (kinds.length !== 1) throw bad(key, 'needs exactly one distribution', d, file);
    const kind = kinds[0]!;
    const args = (d as Record<string, unknown>)[kind];
    if (kind === 'choice') {
      if (!Array.isArray(args) || args.length === 0) throw bad(key, 'choice needs a non-empty list of values', d, file);
      if (args.some((v) => !['number', 'string', 'boolean'].includes(typeof v))) throw bad(key, 'choice values must be numbers, strings or true/false', d, file);
      if (new Set(args.map((v) => JSON.stringify(v))).size !== args.length) throw bad(key, 'choice lists a value twice', d, file);
      space[key] = { kind: 'choice', choices: args as ParamValue[] };
      continue;
    }
    if (!['uniform', 'loguniform', 'int', 'intlog'].includes(kind)) throw bad(key, `unknown distribution '${kind}'`, d, file);
    if (!Array.isArray(args) || args.length !== 2 || !args.every((v) => typeof v === 'number' && Number.isFinite(v))) throw bad(key, `${kind} needs [low, high] numbers`, d, file);
    const [low, high] = args as [number, number];
    if (!(low < high)) throw bad(key, `${kind} needs low < high`, d, file);
    if ((kind === 'loguniform' || kind === 'intlog') && !(low > 0)) throw bad(key, `${kind} needs low > 0`, d, file);
    if (kind === 'int' || kind === 'intlog') {
      if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high)) throw bad(key, `${kind} needs whole numbers`, d, file);
      space[key] = { kind: 'int', low, high, log: kind === 'intlog' };
    } else {
      space[key] = { kind: kind as 'uniform' | 'loguniform', low, high };
    }
  }
  return space;
}

/** A space as given: already read (every parameter has its `kind`), or a spec to read. */
export function toSpace(s: Space | SpaceSpec): Space {
  const values = Object.values(s) as object[];
  return values.length > 0 && values.every((d) => typeof d === 'object' && d !== null && 'kind' in d) ? (s as Space) : parseSpace(s);
}

/** Whether a value lies in a distribution (a resumed sweep's trials are checked against its space). */
export function contains(d: Distribution, v: ParamValue): boolean {
  switch (d.kind) {
    case 'choice':
      return d.choices.some((c) => c === v);
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= d.low && v <= d.high;
    default:
      return typeof v === 'number' && v >= d.low && v <= d.high;
  }
}
