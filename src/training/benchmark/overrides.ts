/**
 * Overrides: fields replaced by values given as flags (`--epochs 5`, `--uncertainty U104`), by a
 * config or by code. Keys may be camelCase or kebab-case; values typed or strings, each read by its
 * field's grammar (fields.ts). The uncertainty is read last, against the classes the result selects.
 */
import type { FlagSpec } from '../../util/cli.js';
import { MedtrainError } from '../../util/errors.js';
import { classCount, FIELD_KEYS, FIELDS, kebab, type BenchmarkFields } from './fields.js';

/** Values as flags or code give them. */
export type BenchmarkOverrides = { [K in keyof BenchmarkFields]?: BenchmarkFields[K] | string | number | boolean | null | readonly unknown[] | Record<string, unknown> };

/**
 * The flags a training script offers to override a benchmark's fields (derived from the fields;
 * --engine is every script's; the fold is train's --folds and --fold).
 */
export const BENCHMARK_FLAGS: Record<string, FlagSpec & { type: 'string' }> = Object.fromEntries(FIELD_KEYS.filter((k) => k !== 'engine' && k !== 'fold').map((k) => [kebab(k), { type: 'string', value: FIELDS[k].value, help: FIELDS[k].help }]));

function camel(k: string): string {
  return k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * `base` with the overrides read in; returns the fields and the keys the overrides gave. Undefined
 * values are skipped. A bad key or value is a MedtrainError naming the flag.
 */
export function applyOverrides(base: BenchmarkFields, overrides: BenchmarkOverrides | Record<string, unknown>, models: readonly string[]): { fields: BenchmarkFields; given: Set<keyof BenchmarkFields> } {
  const fields = { ...base } as Record<keyof BenchmarkFields, unknown>;
  const given = new Set<keyof BenchmarkFields>();
  let uncertainty: unknown;
  for (const [rawKey, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const key = camel(rawKey) as keyof BenchmarkFields;
    if (!(FIELD_KEYS as readonly string[]).includes(key)) {
      throw new MedtrainError(`unknown benchmark field '${rawKey}'`, { code: 'bad-flag', column: `--${kebab(rawKey)}`, value: rawKey, hint: `known: ${FIELD_KEYS.map((k) => `--${kebab(k)}`).join(', ')}` });
    }
    given.add(key);
    if (key === 'uncertainty') uncertainty = value;
    else fields[key] = FIELDS[key].read(value, { models, classCount: 0 });
  }
  if (uncertainty !== undefined) fields.uncertainty = FIELDS.uncertainty.read(uncertainty, { models, classCount: classCount(fields.classes as BenchmarkFields['classes']) });
  return { fields: fields as BenchmarkFields, given };
}

/** The benchmark flags among a script's parsed flags (others are ignored), `engine` among them. */
export function pickBenchmarkFlags(flags: Record<string, unknown>): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const k of [...Object.keys(BENCHMARK_FLAGS), 'engine']) if (flags[k] !== undefined) picked[k] = flags[k];
  return picked;
}
