/**
 * Benchmark: the typed description of one experiment, with documented defaults (fields.ts), its name
 * (name.ts: `Benchmark.parse('chexpert_CWBCE_E3_B32')`, `format()`), overrides from flags or code
 * (overrides.ts) and the config JSON (config.json, `train --dry-run --json`), which stores every field
 * and so stays authoritative whatever the name.
 */
import type { AugmentationName } from '../../data/augment.js';
import type { DatasetOptions } from '../../data/dataset.js';
import type { IntensityTransform } from '../../data/image/intensity.js';
import { classSetNames, type ClassSetName } from '../../data/labels/classes.js';
import type { BlankPolicy } from '../../data/labels/encode.js';
import type { Uncertainty } from '../../data/labels/uncertainty.js';
import type { DatasetName } from '../../data/tables/detect.js';
import type { EngineRequest } from '../../backend/engines.js';
import type { LossName } from '../../losses/names.js';
import type { Normalization } from '../../losses/class-weights.js';
import { MedtrainError } from '../../util/errors.js';
import { stripUndefined } from '../../util/objects.js';
import type { OptimizerName } from '../optimizers.js';
import { checkFields, DEFAULTS, FIELD_KEYS, KNOWN_MODELS, type BenchmarkFields, type ClassSelection } from './fields.js';
import { formatName, parseName } from './name.js';
import { applyOverrides, pickBenchmarkFlags, type BenchmarkOverrides } from './overrides.js';

/** Where the class names of a class set come from (default: src/data/labels' classSetNames). */
export type ClassSetResolver = (dataset: DatasetName, set: ClassSetName) => readonly string[];

export interface ParseOptions {
  /** Model names the registry knows (default KNOWN_MODELS); matched case-insensitively. */
  models?: readonly string[];
}

/** The config JSON (config.json, `train --dry-run --json`): every field, the canonical name, the class set. */
export type BenchmarkJSON = { name: string } & Omit<BenchmarkFields, 'classes' | 'augmentation' | 'transforms'> & {
  /** Class names (a class set resolved by classSetNames unless another resolver is given). */
  classes: string[];
  augmentation: AugmentationName[];
  transforms: IntensityTransform[];
  /** The named class set, or null for an explicit list. */
  classSet: ClassSetName | null;
};

function fieldsOf(b: BenchmarkFields): BenchmarkFields {
  const o = {} as Record<string, unknown>;
  for (const k of FIELD_KEYS) o[k] = b[k];
  return o as unknown as BenchmarkFields;
}

/** Fields frozen deeply, lists copied. */
function frozen(f: BenchmarkFields): BenchmarkFields {
  const u = f.uncertainty;
  return {
    ...f,
    classes: typeof f.classes === 'string' ? f.classes : Object.freeze([...f.classes]),
    augmentation: Object.freeze([...f.augmentation]),
    transforms: Object.freeze(f.transforms.map((t) => Object.freeze({ ...t }))),
    uncertainty: Object.freeze(u.kind === 'lists' ? Object.fromEntries(Object.entries(u).map(([k, v]) => [k, Array.isArray(v) ? Object.freeze([...v]) : v])) : { ...u }) as Uncertainty,
    split: Object.freeze({ ...f.split }),
    fold: f.fold && Object.freeze({ ...f.fold }),
  };
}

export class Benchmark implements BenchmarkFields {
  readonly model!: string;
  readonly modelTag!: string | null;
  readonly dataset!: DatasetName;
  readonly classes!: ClassSelection;
  readonly loss!: LossName;
  readonly classWeightNorm!: Normalization;
  readonly epochs!: number;
  readonly batchSize!: number;
  readonly crop!: boolean;
  readonly augmentation!: readonly AugmentationName[];
  readonly transforms!: readonly IntensityTransform[];
  readonly uncertainty!: Uncertainty;
  readonly blankPolicy!: BlankPolicy;
  readonly dim!: number;
  readonly split!: { readonly train: number; readonly val: number };
  readonly fold!: { readonly index: number; readonly of: number } | null;
  readonly learningRate!: number;
  readonly lrFactor!: number;
  readonly optimizer!: OptimizerName;
  readonly upsample!: boolean;
  readonly seed!: number;
  readonly engine!: EngineRequest;
  readonly repeat!: number | null;
  /**
   * The fields the name, the overrides or the config gave; the others took their defaults. (Not part
   * of the benchmark's identity: a name that spells a default out equals one that leaves it out.)
   */
  readonly given!: ReadonlySet<keyof BenchmarkFields>;

  /** Typed fields, validated; anything left out takes its default. Prefer `Benchmark.parse` or `create`. */
  constructor(fields: Partial<BenchmarkFields> = {}, given?: Iterable<keyof BenchmarkFields>) {
    const named = stripUndefined(fields);
    Object.assign(this, { given: Object.freeze(new Set(given ?? (Object.keys(named) as (keyof BenchmarkFields)[]))), ...frozen({ ...DEFAULTS, ...named }) });
    checkFields(this);
    Object.freeze(this);
  }

  /** Defaults overridden by typed fields or strings, as from flags. */
  static create(overrides: BenchmarkOverrides = {}, opts: ParseOptions = {}): Benchmark {
    return new Benchmark().withOverrides(overrides, opts);
  }

  /** Read a benchmark name (the grammar: name.ts, or the README). Throws a MedtrainError at the unreadable token. */
  static parse(name: string, opts: ParseOptions = {}): Benchmark {
    return new Benchmark(parseName(name, opts.models ?? KNOWN_MODELS));
  }

  /** Read config.json (or any BenchmarkJSON) back, checking every field. */
  static fromJSON(json: unknown, file?: string, opts: ParseOptions = {}): Benchmark {
    if (!json || typeof json !== 'object') throw new MedtrainError('the benchmark config is not a JSON object', { code: 'bad-config', file });
    const j = json as Record<string, unknown>;
    const o: Record<string, unknown> = {};
    for (const k of FIELD_KEYS) if (j[k] !== undefined && k !== 'classes') o[k] = j[k];
    o.classes = (j.classSet as string | null | undefined) ?? j.classes;
    try {
      return Benchmark.create(o, opts);
    } catch (e) {
      if (e instanceof MedtrainError) throw new MedtrainError(`bad benchmark config: ${e.message}`, { code: 'bad-config', file, cause: e });
      throw e;
    }
  }

  /** The canonical name. */
  get name(): string {
    return this.format();
  }

  /** The name: canonical (defaults left out), or with `full: true` every token, reference style; both parse back to this benchmark. */
  format(opts: { full?: boolean } = {}): string {
    return formatName(this, opts.full ?? false);
  }

  toString(): string {
    return this.format();
  }

  /** The named class set, or null for an explicit list. */
  /**
   * The seed of what a repeat draws anew: the model's initial weights, the data order, the
   * augmentations and the dropout masks. The split stays on `seed`, so repeats of one configuration
   * share their val and test cases (and can be ensembled). No repeat index, or 1: `seed` itself;
   * repeat r ≥ 2: `<seed>/repeat-<r>`.
   */
  get drawSeed(): string | number {
    return this.repeat !== null && this.repeat > 1 ? `${this.seed}/repeat-${this.repeat}` : this.seed;
  }

  get classSet(): ClassSetName | null {
    return typeof this.classes === 'string' ? (this.classes as ClassSetName) : null;
  }

  /** Class names: the explicit list, or the class set through `resolve`. */
  classNames(resolve: ClassSetResolver = classSetNames): string[] {
    return typeof this.classes === 'string' ? [...resolve(this.dataset, this.classes as ClassSetName)] : [...this.classes];
  }

  /** What the benchmark says about its data, as openDataset and inspectData take it. */
  dataOptions(): DatasetOptions {
    return { expect: this.dataset, classes: this.classNames(), uncertainty: this.uncertainty, blank: this.blankPolicy, val: this.split.val, fold: this.fold, seed: this.seed };
  }

  /**
   * A copy with fields replaced. Values may be typed or strings as flags give them ('5', 'true',
   * 'affine,color', 'U104', '1e-4' or '1LR4', 'DS9505' or '0.95/0.05'); undefined values are
   * skipped; keys may be camelCase or kebab-case. A bad key or value is a MedtrainError naming the flag.
   */
  withOverrides(overrides: BenchmarkOverrides | Record<string, unknown>, opts: ParseOptions = {}): Benchmark {
    const { fields, given } = applyOverrides(fieldsOf(this), overrides, opts.models ?? KNOWN_MODELS);
    try {
      return new Benchmark(fields, [...this.given, ...given]);
    } catch (e) {
      if (e instanceof MedtrainError && e.code === 'uncertainty-classes') {
        const flag = given.has('uncertainty') ? '--uncertainty' : '--classes';
        throw new MedtrainError(e.problem, { code: 'bad-flag', column: flag, value: e.value, hint: e.hint });
      }
      throw e;
    }
  }

  /** Apply the benchmark flags among a script's parsed flags (others are ignored). */
  withFlags(flags: Record<string, unknown>, opts: ParseOptions = {}): Benchmark {
    return this.withOverrides(pickBenchmarkFlags(flags), opts);
  }

  /** Same fields (the name included: canonical names are equal exactly when benchmarks are). */
  equals(other: Benchmark): boolean {
    return JSON.stringify(fieldsOf(this)) === JSON.stringify(fieldsOf(other));
  }

  /** The config JSON: the fields in order, then modelTag, repeat, fold, classSet. */
  toJSON(resolve?: ClassSetResolver | string): BenchmarkJSON {
    const names = typeof resolve === 'function' ? resolve : classSetNames; // JSON.stringify passes a key
    const { modelTag, repeat, engine, fold, ...rest } = fieldsOf(this);
    return {
      name: this.format(),
      ...rest,
      classes: this.classNames(names),
      augmentation: [...this.augmentation],
      transforms: this.transforms.map((t) => ({ ...t })),
      uncertainty: JSON.parse(JSON.stringify(this.uncertainty)) as Uncertainty,
      split: { ...this.split },
      engine,
      modelTag,
      repeat,
      fold: fold && { ...fold },
      classSet: this.classSet,
    };
  }
}
