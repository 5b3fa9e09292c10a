/**
 * What batch files and sweep specs share: reading one (a file, JSON or YAML, or an object), checking
 * its keys, and turning benchmark field values into `medtrain train` flags. Field values are read by
 * the benchmark's own grammar (withOverrides), so a batch or a sweep takes exactly what the train
 * flags take, and a bad one is an error naming the file, the key and the value before anything runs.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Benchmark } from '../training/benchmark/benchmark.js';
import { FIELD_KEYS, kebab, type BenchmarkFields } from '../training/benchmark/fields.js';
import { readDocument } from '../util/document.js';
import { MedtrainError } from '../util/errors.js';
import type { ParamValue, Params } from './space.js';

export interface SpecSource {
  /** The spec's object. */
  raw: Record<string, unknown>;
  /** The file it came from (for errors and the record), or null. */
  file: string | null;
}

/** A spec from a file (JSON, or YAML named .yaml/.yml) or an object. */
export async function readSpec(spec: string | Record<string, unknown>, what: string): Promise<SpecSource> {
  const raw = typeof spec === 'string' ? await readDocument(spec, what) : spec;
  const file = typeof spec === 'string' ? spec : null;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new MedtrainError(`the ${what} must be an object of keys`, { code: 'bad-spec', ...(file && { file }) });
  return { raw: raw as Record<string, unknown>, file };
}

/** Every key of the spec is one of `known` (an unknown one is an error naming it and the known ones). */
export function checkKeys(src: SpecSource, known: readonly string[], what: string): void {
  for (const k of Object.keys(src.raw)) {
    if (!known.includes(k)) throw new MedtrainError(`the ${what} has an unknown key '${k}'`, { code: 'bad-spec', ...(src.file && { file: src.file }), column: k, hint: `its keys are ${known.join(', ')}` });
  }
}

/** A key's error: the file, the key, the value and the fix. */
export function specError(src: SpecSource, key: string, message: string, value: unknown, hint?: string): MedtrainError {
  return new MedtrainError(message, { code: 'bad-spec', ...(src.file && { file: src.file }), column: key, value: typeof value === 'object' && value !== null ? JSON.stringify(value) : value, ...(hint && { hint }) });
}

/** The benchmark a name at a spec's key makes (the key names it in errors). */
export function benchmarkAt(src: SpecSource, key: string, name: unknown): Benchmark {
  if (typeof name !== 'string') throw specError(src, key, 'needs a benchmark name', name, 'as "DenseNetMini_chexpert_BCE_E2_B16_N5_D64"');
  try {
    return Benchmark.parse(name);
  } catch (e) {
    if (e instanceof MedtrainError) throw specError(src, key, e.problem, name, e.hint);
    throw e;
  }
}

/** The base benchmark a spec names. */
export function baseBenchmark(src: SpecSource): Benchmark {
  return benchmarkAt(src, 'base', src.raw.base);
}

/** Fields a batch or sweep may vary: every benchmark field but the fold (cross-validation owns it). */
export const VARIABLE_FIELDS: readonly (keyof BenchmarkFields)[] = FIELD_KEYS.filter((k) => k !== 'fold');

/** The field a key names (camelCase or kebab-case), or an error naming the key. */
export function fieldOf(src: SpecSource, where: string, key: string): keyof BenchmarkFields {
  const camel = key.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase()) as keyof BenchmarkFields;
  if (!VARIABLE_FIELDS.includes(camel)) throw specError(src, `${where}.${key}`, `'${key}' is not a benchmark field`, key, `the fields are ${VARIABLE_FIELDS.join(', ')}`);
  return camel;
}

/** `base` with the values, each read by its field's grammar; a bad value names the spec's key. */
export function withValues(src: SpecSource, where: string, base: Benchmark, values: Params): Benchmark {
  try {
    return base.withOverrides(values);
  } catch (e) {
    if (e instanceof MedtrainError) {
      const key = Object.keys(values).find((k) => e.column === `--${kebab(k)}`) ?? Object.keys(values)[0]!;
      throw specError(src, `${where}.${key}`, e.problem, values[key], e.hint);
    }
    throw e;
  }
}

/** A field value as its train flag's text. */
function flagText(v: ParamValue | readonly unknown[]): string {
  return Array.isArray(v) ? v.join(',') : String(v);
}

/** `--field value` train flags for field values (the base name gives the rest). */
export function fieldFlags(values: Params): string[] {
  return Object.entries(values).flatMap(([k, v]) => (k === 'engine' ? ['--engine', String(v)] : [`--${kebab(k)}`, flagText(v)]));
}

/** Train flags a spec adds to every run (`"train": {"no-tensorboard": true, "patience": 2}`). */
export function extraTrainFlags(src: SpecSource, key = 'train'): string[] {
  const t = src.raw[key];
  if (t === undefined) return [];
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw specError(src, key, 'needs an object of train flags', t, 'as "train": {"no-tensorboard": true, "patience": 2}');
  const owned = ['benchmark', 'data', 'out', 'resume', 'json', 'dry-run', 'sweep-trial', 'folds', 'fold', 'experiment-log'];
  return Object.entries(t as Record<string, unknown>).flatMap(([k, v]) => {
    if (owned.includes(k)) throw specError(src, `${key}.${k}`, `--${k} is set by the batch or sweep itself`, v);
    if (v === true) return [`--${k}`];
    if (v === false || v === null) return [];
    if (!['string', 'number'].includes(typeof v)) throw specError(src, `${key}.${k}`, 'a train flag takes a string, a number or true', v);
    return [`--${k}`, String(v)];
  });
}

/**
 * A batch's, sweep's or cross-validation's folder: new, empty, or holding its `marker` file (then
 * `check` reads the marker and throws if it is another one). Anything else is an error: medtrain
 * never writes into a folder it did not make. Returns whether the folder is being continued.
 */
export async function claimFolder(dir: string, marker: string, what: string, check?: (saved: unknown) => void | Promise<void>): Promise<boolean> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new MedtrainError(`cannot read the ${what} folder`, { code: 'unwritable', file: dir, hint: (e as Error).message, cause: e });
  }
  if (names.includes(marker)) {
    await check?.(await readDocument(join(dir, marker), `${what} file`));
    return true;
  }
  if (names.length) {
    throw new MedtrainError(`the folder exists and is not a ${what} folder (it holds ${names.slice(0, 5).map((n) => `'${n}'`).join(', ')}${names.length > 5 ? ', …' : ''}): medtrain never writes into a folder it did not make`, { code: 'folder-not-empty', file: dir, hint: `give the ${what} a new or empty folder (--out)` });
  }
  return false;
}
