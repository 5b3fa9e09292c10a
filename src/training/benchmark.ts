/**
 * Benchmark: the typed description of one experiment, with documented defaults, and the name
 * grammar that writes it in one word (the convention of the reference Keras chest X-ray codebase):
 *
 *   [Model[_tag]_]Dataset_Loss[_L1Normed|_NoNorm]_E<epochs>_B<batch>[_C<0|1>][_N<classes>]
 *   then, in this order when present:
 *   _Aug{Affine|Color|AffineColor} | _NoAug      augmentation
 *   _sharp<r><a> _gb _hist                       intensity transforms, in pipeline order
 *   _U{ignore|ones|zeroes|<z><o>|LSRones|LSRzeroes}   uncertainty encoding
 *   _BlankMask | _BlankZero                      blank cells (medtrain extension)
 *   _D<dim>                                      image side in pixels
 *   _DS<train%><val%>                            train/val split (DS9505 = 95/5)
 *   _<m>LR<k>                                    learning rate m·10^-k (2LR1 = 0.2, 1LR4 = 1e-4)
 *   _LF<x>                                       per-epoch LR factor 0.x (LF5 = 0.5)
 *   _SGD | _Adam | _RMSprop                      optimizer
 *   _Upsampled                                   upsample rare positives in training
 *   _Seed<n>                                     seed (medtrain extension)
 *   _cpu | _wasm | _webgpu | _tensorflow         engine (medtrain extension)
 *   _<n>                                         repeat index of the same configuration
 *
 * Keywords are read case-insensitively. `format()` writes the canonical name: fixed spellings, and
 * every optional token whose value is the default left out, so two names of one configuration
 * format alike (`format({ full: true })` writes every token, reference style). The config JSON
 * (config.json, `--dry-run --json`) stores every field, so it stays authoritative whatever the name.
 */
import { MedtrainError } from '../util/errors.js';
import { ENGINES, resolveEngineRequest, type EngineRequest } from '../backend/engines.js';
import type { FlagSpecs } from '../util/cli.js';
import { classSetNames } from '../data/labels.js';
import { modelNames } from '../models/registry.js';
import { stripUndefined } from '../util/objects.js';

export const DATASETS = ['chexpert', 'chestxray14'] as const;
export type DatasetName = (typeof DATASETS)[number];

export const LOSSES = ['BCE', 'WBCE', 'CWBCE', 'Focal'] as const;
export type LossName = (typeof LOSSES)[number];

export const OPTIMIZERS = ['sgd', 'adam', 'rmsprop'] as const;
/** sgd is SGD with momentum 0.9; adam and rmsprop use the Keras defaults (beta 0.9/0.999, rho 0.9). */
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Named class sets: N14 every observation, N12 without No Finding and Support Devices, N5 the competition set. */
export const CLASS_SETS = ['N5', 'N12', 'N14'] as const;
export type ClassSetName = (typeof CLASS_SETS)[number];
/** A named class set, or an explicit list of class names (label-table column names). */
export type ClassSelection = ClassSetName | readonly string[];

export type AugmentationName = 'affine' | 'color';
export type ClassWeightNorm = 'l1' | 'none';
export type BlankPolicy = 'zero' | 'mask';

/** Intensity transforms applied to every image (training and evaluation alike), in order. */
export type Transform =
  | { kind: 'sharp'; radius: number; amount: number } // unsharp mask
  | { kind: 'blur' } // Gaussian blur ("gb")
  | { kind: 'hist' }; // histogram equalisation

/**
 * What an uncertain label (-1 in CheXpert) becomes: masked out (ignore), 0, 1, a mix (`zeros`
 * classes to 0 and `ones` classes to 1, as U75), or seeded label smoothing (LSR, Pham et al. 2020).
 */
export type Uncertainty =
  | { kind: 'ignore' }
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'mixed'; zeros: number; ones: number }
  | { kind: 'lsr-ones' }
  | { kind: 'lsr-zeros' };

export interface BenchmarkFields {
  /** Backbone, as the model registry names it. Default DenseNet121. */
  model: string;
  /** A free label after the model (`DenseNet121_run2_…` → 'run2'), or null. */
  modelTag: string | null;
  /** Default chexpert. */
  dataset: DatasetName;
  /** Default N14 (every class of the dataset). */
  classes: ClassSelection;
  loss: LossName;
  /** Class weights L1-normalised ×10 (the reference formulas, `L1Normed`) or raw (`NoNorm`). Default l1. */
  classWeightNorm: ClassWeightNorm;
  epochs: number;
  batchSize: number;
  /** Lung-field crop of frontal views (C1). Default false. */
  crop: boolean;
  /** Training augmentations, in order. Default none. */
  augmentation: readonly AugmentationName[];
  /** Default none. */
  transforms: readonly Transform[];
  /** Default ignore (masked). */
  uncertainty: Uncertainty;
  /** Blank (not mentioned) cells: 0 (default) or masked. */
  blankPolicy: BlankPolicy;
  /** Image side in pixels. Default 256. */
  dim: number;
  /** Train/val fractions of the training table, grouped by patient. Default 0.8 / 0.2. */
  split: { train: number; val: number };
  /** Default 1e-3. */
  learningRate: number;
  /** Per-epoch LR factor f: lr_e = lr0·f^e. Default 1 (constant). */
  lrFactor: number;
  /** Default adam. */
  optimizer: OptimizerName;
  /** Upsample rare positives in the training split. Default false. */
  upsample: boolean;
  /** Default 6122156 (the reference split seed). */
  seed: number;
  /** Default auto. */
  engine: EngineRequest;
  /** Repeat index of one configuration (`…_Upsampled_1` → 1), or null. */
  repeat: number | null;
}

/** The model names a benchmark may use: the model registry's (src/models/registry.ts). */
export const KNOWN_MODELS: readonly string[] = modelNames();

export const DEFAULTS: Readonly<BenchmarkFields> = Object.freeze<BenchmarkFields>({
  model: 'DenseNet121',
  modelTag: null,
  dataset: 'chexpert',
  classes: 'N14',
  loss: 'BCE',
  classWeightNorm: 'l1',
  epochs: 3,
  batchSize: 32,
  crop: false,
  augmentation: [],
  transforms: [],
  uncertainty: { kind: 'ignore' },
  blankPolicy: 'zero',
  dim: 256,
  split: { train: 0.8, val: 0.2 },
  learningRate: 1e-3,
  lrFactor: 1,
  optimizer: 'adam',
  upsample: false,
  seed: 6122156,
  engine: 'auto',
  repeat: null,
});

/** Where the class names of a class set come from (src/data/labels.ts). */
export type ClassSetResolver = (dataset: DatasetName, set: ClassSetName) => readonly string[];

export interface ParseOptions {
  /** Model names the registry knows (default KNOWN_MODELS); matched case-insensitively. */
  models?: readonly string[];
}

/** The config JSON (config.json, `train --dry-run --json`): every field, the canonical name, the class set. */
export type BenchmarkJSON = { name: string } & Omit<BenchmarkFields, 'classes' | 'augmentation' | 'transforms'> & {
  /** Class names (a class set resolved by src/data/labels.ts's classSetNames unless another resolver is given). */
  classes: string[];
  augmentation: AugmentationName[];
  transforms: Transform[];
  /** The named class set, or null for an explicit list. */
  classSet: ClassSetName | null;
};

const GRAMMAR_HINT =
  'a benchmark name reads [Model[_tag]_]Dataset_Loss[_L1Normed|_NoNorm]_E<epochs>_B<batch>[_C0|_C1][_N5|_N12|_N14] then, in this order: ' +
  '_Aug{Affine|Color|AffineColor}|_NoAug, transforms (_sharp21, _gb, _hist), _U{ignore|ones|zeroes|<z><o>|LSRones|LSRzeroes}, _BlankMask, ' +
  '_D<dim>, _DS<train%><val%>, _<m>LR<k>, _LF<x>, _SGD|_Adam|_RMSprop, _Upsampled, _Seed<n>, _<engine>, _<repeat>; e.g. chexpert_CWBCE_E3_B32';

interface Token {
  text: string;
  lower: string;
  /** 0-based offset in the name. */
  at: number;
}

function nameError(name: string, tok: Token | { text: string; at: number }, problem: string, expected: string, code = 'bad-benchmark-name'): MedtrainError {
  const width = Math.max(1, tok.text.length);
  const caret = `${' '.repeat(tok.at)}${'^'.repeat(width)}`;
  return new MedtrainError(`benchmark name: ${problem}; expected ${expected}\n    ${name}\n    ${caret}`, {
    code,
    column: tok.at + 1,
    value: tok.text,
    hint: GRAMMAR_HINT,
  });
}

function lookupModel(lower: string, models: readonly string[]): string | undefined {
  return models.find((m) => m.toLowerCase() === lower);
}

function datasetOf(lower: string): DatasetName | undefined {
  if (lower === 'chexpert') return 'chexpert';
  if (lower === 'chestxray' || lower === 'chestxray14') return 'chestxray14';
  return undefined;
}

function lossOf(lower: string): LossName | undefined {
  return LOSSES.find((l) => l.toLowerCase() === lower);
}

// ---------- the optional tail: one slot per token kind, in grammar order ----------

type Tail = Pick<
  BenchmarkFields,
  'augmentation' | 'transforms' | 'uncertainty' | 'blankPolicy' | 'dim' | 'split' | 'learningRate' | 'lrFactor' | 'optimizer' | 'upsample' | 'seed' | 'engine' | 'repeat'
>;

interface Slot {
  /** What the slot accepts, for messages. */
  expect: string;
  /** Several tokens may fill it (transforms). */
  repeats?: boolean;
  /** Does the token belong to this slot (by shape)? */
  match(lower: string): boolean;
  /** Read the token into the fields; a string is a problem with the token. */
  read(lower: string, out: Partial<Tail>): string | void;
}

const SLOTS: Slot[] = [
  {
    expect: '_AugAffine, _AugColor, _AugAffineColor or _NoAug',
    match: (t) => t.startsWith('aug') || t === 'noaug',
    read(t, out) {
      if (t === 'noaug') return void (out.augmentation = []);
      const m = /^aug((?:affine|color)+)$/.exec(t);
      if (!m) return 'unknown augmentation';
      const parts = m[1]!.match(/affine|color/g)!;
      if (new Set(parts).size !== parts.length) return 'augmentation named twice';
      out.augmentation = (['affine', 'color'] as const).filter((a) => parts.includes(a));
    },
  },
  {
    expect: 'a transform (_sharp<radius><amount> as _sharp21, _gb, _hist)',
    repeats: true,
    match: (t) => /^sharp\d*$/.test(t) || t === 'gb' || t === 'hist',
    read(t, out) {
      let tr: Transform;
      if (t === 'gb') tr = { kind: 'blur' };
      else if (t === 'hist') tr = { kind: 'hist' };
      else {
        const m = /^sharp([1-9])([1-9])$/.exec(t);
        if (!m) return 'sharp needs a radius and an amount digit, as sharp21 (radius 2, amount 1)';
        tr = { kind: 'sharp', radius: Number(m[1]), amount: Number(m[2]) };
      }
      const list = (out.transforms ??= []) as Transform[];
      if (list.some((x) => x.kind === tr.kind)) return 'transform named twice';
      list.push(tr);
    },
  },
  {
    expect: '_Uignore, _Uones, _Uzeroes, _U<zeros><ones> (as U75), _ULSRones or _ULSRzeroes',
    match: (t) => /^u(?:\d+|[a-z-]+)$/.test(t) && t !== 'upsampled',
    read(t, out) {
      const v = uncertaintyFromWord(t.slice(1));
      if (typeof v === 'string') return v;
      out.uncertainty = v;
    },
  },
  {
    expect: '_BlankMask or _BlankZero',
    match: (t) => t.startsWith('blank'),
    read(t, out) {
      if (t === 'blankmask') out.blankPolicy = 'mask';
      else if (t === 'blankzero') out.blankPolicy = 'zero';
      else return 'unknown blank policy';
    },
  },
  {
    expect: '_D<dim> (as D256)',
    match: (t) => /^d\d+$/.test(t),
    read(t, out) {
      const d = Number(t.slice(1));
      if (d < 16 || d > 4096) return 'image side out of range 16..4096';
      out.dim = d;
    },
  },
  {
    expect: '_DS<train%><val%> (as DS9505)',
    match: (t) => /^ds\d*$/.test(t),
    read(t, out) {
      const m = /^ds(\d\d)(\d\d)$/.exec(t);
      if (!m) return 'the split needs four digits, train% then val%, as DS9505';
      const tr = Number(m[1]);
      const va = Number(m[2]);
      if (tr + va !== 100 || va === 0) return `train% + val% must be 100 with some validation (${tr} + ${va})`;
      out.split = { train: tr / 100, val: va / 100 };
    },
  },
  {
    expect: '_<m>LR<k> (learning rate m·10^-k, as 1LR4 = 1e-4)',
    match: (t) => /^\d*lr\d*$/.test(t),
    read(t, out) {
      const m = /^(\d+)lr(\d+)$/.exec(t);
      if (!m) return 'the learning rate needs digits on both sides, as 1LR4 = 1e-4';
      const lr = Number(`${m[1]}e-${m[2]}`);
      if (!(lr > 0) || !Number.isFinite(lr)) return 'the learning rate must be above 0';
      out.learningRate = lr;
    },
  },
  {
    expect: '_LF<x> (per-epoch LR factor 0.x, as LF5 = 0.5)',
    match: (t) => /^lf\d*$/.test(t),
    read(t, out) {
      const m = /^lf(\d+)$/.exec(t);
      if (!m || /^0+$/.test(m[1]!)) return 'the LR factor needs the digits after "0.", as LF5 = 0.5';
      out.lrFactor = Number(`0.${m[1]}`);
    },
  },
  {
    expect: '_SGD, _Adam or _RMSprop',
    match: (t) => (OPTIMIZERS as readonly string[]).includes(t),
    read(t, out) {
      out.optimizer = t as OptimizerName;
    },
  },
  {
    expect: '_Upsampled',
    match: (t) => t === 'upsampled',
    read(_t, out) {
      out.upsample = true;
    },
  },
  {
    expect: '_Seed<n>',
    match: (t) => t.startsWith('seed'),
    read(t, out) {
      const m = /^seed(\d+)$/.exec(t);
      if (!m || !Number.isSafeInteger(Number(m[1]))) return 'the seed needs digits, as Seed42';
      out.seed = Number(m[1]);
    },
  },
  {
    expect: `an engine (${ENGINES.join(', ')})`,
    match: (t) => (ENGINES as readonly string[]).includes(t),
    read(t, out) {
      out.engine = t as EngineRequest;
    },
  },
  {
    expect: 'a repeat index _<n>',
    match: (t) => /^\d+$/.test(t),
    read(t, out) {
      if (!Number.isSafeInteger(Number(t))) return 'repeat index too large';
      out.repeat = Number(t);
    },
  },
];

/** 'ones', 'zeroes', '75', 'lsrones', 'ignore' (the text after U) → an encoding, or a problem. */
function uncertaintyFromWord(w: string): Uncertainty | string {
  switch (w.replace(/-/g, '')) {
    case 'ignore':
      return { kind: 'ignore' };
    case 'ones':
      return { kind: 'ones' };
    case 'zeroes':
    case 'zeros':
      return { kind: 'zeros' };
    case 'lsrones':
      return { kind: 'lsr-ones' };
    case 'lsrzeroes':
    case 'lsrzeros':
      return { kind: 'lsr-zeros' };
    default: {
      const m = /^(\d)(\d)$/.exec(w);
      if (m) return { kind: 'mixed', zeros: Number(m[1]), ones: Number(m[2]) };
      return /^\d+$/.test(w) ? 'a mixed encoding is two digits, zeros then ones, as U75' : 'unknown uncertainty encoding';
    }
  }
}

// ---------- the Benchmark ----------

export class Benchmark implements BenchmarkFields {
  readonly model!: string;
  readonly modelTag!: string | null;
  readonly dataset!: DatasetName;
  readonly classes!: ClassSelection;
  readonly loss!: LossName;
  readonly classWeightNorm!: ClassWeightNorm;
  readonly epochs!: number;
  readonly batchSize!: number;
  readonly crop!: boolean;
  readonly augmentation!: readonly AugmentationName[];
  readonly transforms!: readonly Transform[];
  readonly uncertainty!: Uncertainty;
  readonly blankPolicy!: BlankPolicy;
  readonly dim!: number;
  readonly split!: { readonly train: number; readonly val: number };
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

  /** Fields are validated; anything left out takes its default. Prefer `Benchmark.parse` or `create`. */
  constructor(fields: Partial<BenchmarkFields> = {}, given?: Iterable<keyof BenchmarkFields>) {
    const named = stripUndefined(fields);
    const f: BenchmarkFields = { ...DEFAULTS, ...named };
    Object.assign(this, {
      given: Object.freeze(new Set(given ?? (Object.keys(named) as (keyof BenchmarkFields)[]))),
      ...f,
      classes: typeof f.classes === 'string' ? f.classes : Object.freeze([...f.classes]),
      augmentation: Object.freeze([...f.augmentation]),
      transforms: Object.freeze(f.transforms.map((t) => Object.freeze({ ...t }))),
      uncertainty: Object.freeze({ ...f.uncertainty }),
      split: Object.freeze({ ...f.split }),
    });
    checkFields(this);
    Object.freeze(this);
  }

  /** Defaults overridden by typed fields (strings too, as from flags). */
  static create(overrides: BenchmarkOverrides = {}, opts: ParseOptions = {}): Benchmark {
    return new Benchmark().withOverrides(overrides, opts);
  }

  /** Read a benchmark name (see the grammar at the top of this file). Throws a MedtrainError at the unreadable token. */
  static parse(name: string, opts: ParseOptions = {}): Benchmark {
    const models = opts.models ?? KNOWN_MODELS;
    const trimmed = name.trim();
    if (!trimmed) throw nameError(name, { text: '', at: 0 }, 'the name is empty', 'a name such as chexpert_CWBCE_E3_B32');
    const toks: Token[] = [];
    let at = name.indexOf(trimmed);
    for (const text of trimmed.split('_')) {
      if (!text) throw nameError(name, { text: '_', at: Math.max(0, at - 1) }, 'empty token (two underscores, or one at an end)', 'a token between underscores');
      if (!/^[A-Za-z0-9-]+$/.test(text)) throw nameError(name, { text, at }, `'${text}' has characters other than letters, digits and '-'`, 'letters and digits');
      toks.push({ text, lower: text.toLowerCase(), at });
      at += text.length + 1;
    }
    const f: Partial<BenchmarkFields> = {};

    // Model, tag and dataset: the dataset is the first dataset word; what comes before is Model[_tag].
    const di = toks.findIndex((t) => datasetOf(t.lower) !== undefined);
    if (di < 0) {
      const li = toks.findIndex((t) => lossOf(t.lower) !== undefined);
      const at = li > 0 ? toks[li - 1]! : toks[0]!;
      throw nameError(name, at, `no dataset in the name ('${at.text}' is not one)`, 'a dataset: chexpert or chestxray14 (any case)');
    }
    f.dataset = datasetOf(toks[di]!.lower)!;
    if (di > 0) {
      const m = toks[0]!;
      const model = lookupModel(m.lower, models);
      if (!model) throw nameError(name, m, `unknown model '${m.text}'`, `a model (${models.join(', ')}) or the dataset`, 'unknown-model');
      f.model = model;
      if (di > 1) f.modelTag = toks.slice(1, di).map((t) => t.text).join('_');
    }
    let i = di + 1;
    const need = (what: string): Token => {
      const t = toks[i];
      if (!t) {
        const end = { text: '', at: trimmed.length + name.indexOf(trimmed) };
        throw nameError(name, end, `the name ends before ${what}`, what);
      }
      return t;
    };

    const lt = need('the loss');
    const loss = lossOf(lt.lower);
    if (!loss) throw nameError(name, lt, `unknown loss '${lt.text}'`, `a loss: ${LOSSES.join(', ')}`);
    f.loss = loss;
    i++;
    if (toks[i]?.lower === 'l1normed' || toks[i]?.lower === 'nonorm') {
      f.classWeightNorm = toks[i]!.lower === 'l1normed' ? 'l1' : 'none';
      i++;
    }
    const intToken = (prefix: string, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
      const t = need(`${what} (_${prefix.toUpperCase()}<n>)`);
      const m = new RegExp(`^${prefix}(\\d+)$`).exec(t.lower);
      if (!m) throw nameError(name, t, `'${t.text}' is not ${what}`, `_${prefix.toUpperCase()}<n> (${what})`);
      const v = Number(m[1]);
      if (!Number.isSafeInteger(v) || v < min || v > max) throw nameError(name, t, `${what} ${m[1]} is out of range ${min}..${max}`, `${what} from ${min} to ${max}`);
      i++;
      return v;
    };
    f.epochs = intToken('e', 'the number of epochs', 1, 100000);
    f.batchSize = intToken('b', 'the batch size', 1, 65536);
    if (toks[i] && /^c\d+$/.test(toks[i]!.lower)) {
      const t = toks[i]!;
      if (t.lower !== 'c0' && t.lower !== 'c1') throw nameError(name, t, `crop '${t.text}' is neither C0 nor C1`, '_C0 (no crop) or _C1 (lung-field crop)');
      f.crop = t.lower === 'c1';
      i++;
    }
    let classToken: Token | null = null;
    if (toks[i] && /^n\d+$/.test(toks[i]!.lower)) {
      const t = toks[i]!;
      const set = CLASS_SETS.find((s) => s.toLowerCase() === t.lower);
      if (!set) throw nameError(name, t, `'${t.text}' is not a class set`, `one of ${CLASS_SETS.join(', ')} (a custom class list goes in the config or --classes)`);
      f.classes = set;
      classToken = t;
      i++;
    }

    // The optional tail, in grammar order.
    const tail: Partial<Tail> = {};
    const filled = new Map<number, Token>();
    let cursor = 0;
    for (; i < toks.length; i++) {
      const t = toks[i]!;
      const si = SLOTS.findIndex((s) => s.match(t.lower));
      const expected = SLOTS.slice(cursor).map((s) => s.expect).join('; ') || 'the end of the name';
      if (si < 0) {
        const head = /^(?:e|b|c|n)\d+$/.test(t.lower) || t.lower === 'l1normed' || t.lower === 'nonorm';
        throw nameError(name, t, head ? `'${t.text}' is out of place (it belongs right after the loss, in the order L1Normed, E, B, C, N)` : `cannot read '${t.text}'`, expected);
      }
      const slot = SLOTS[si]!;
      if (si < cursor && !(slot.repeats && si === cursor - 1)) {
        if (filled.has(si)) throw nameError(name, t, `'${t.text}' repeats '${filled.get(si)!.text}'`, expected);
        const later = [...filled.entries()].filter(([k]) => k > si).sort((a, b) => a[0] - b[0])[0]![1];
        throw nameError(name, t, `'${t.text}' is out of order (it belongs before '${later.text}')`, expected);
      }
      const problem = slot.read(t.lower, tail);
      if (problem) throw nameError(name, t, `${problem} ('${t.text}')`, slot.expect);
      if (!filled.has(si)) filled.set(si, t);
      cursor = si + 1;
    }
    const uToken = filled.get(2) ?? null;
    Object.assign(f, tail);

    try {
      return new Benchmark(f);
    } catch (e) {
      // A cross-token check failed (the mixed encoding against the class count): point at the U token.
      if (e instanceof MedtrainError && e.code === 'uncertainty-classes' && uToken) {
        throw nameError(name, uToken, e.message.split('\n')[0]!, `an encoding whose zeros + ones equal the number of classes (${classToken?.text ?? 'N14'})`);
      }
      throw e;
    }
  }

  /** Read config.json (or any BenchmarkJSON) back, checking every field. */
  static fromJSON(json: unknown, file?: string, opts: ParseOptions = {}): Benchmark {
    if (!json || typeof json !== 'object') throw new MedtrainError('the benchmark config is not a JSON object', { code: 'bad-config', file });
    const j = json as Record<string, unknown>;
    const o: BenchmarkOverrides = {};
    for (const k of FIELD_KEYS) if (j[k] !== undefined && k !== 'classes') (o as Record<string, unknown>)[k] = j[k];
    o.classes = (j.classSet as string | null | undefined) ?? (j.classes as ClassSelection | undefined);
    try {
      return Benchmark.create(o, opts);
    } catch (e) {
      if (e instanceof MedtrainError) throw new MedtrainError(`bad benchmark config: ${e.message}`, { code: 'bad-config', file, cause: e });
      throw e;
    }
  }

  /** The canonical name (see the top of this file). */
  get name(): string {
    return this.format();
  }

  /**
   * The name of this benchmark. Canonical: fixed spellings, defaults left out. `full: true` writes
   * every token (as the reference codebase did), which parses back to the same benchmark too.
   */
  format(opts: { full?: boolean } = {}): string {
    const full = opts.full ?? false;
    const d = DEFAULTS;
    const parts: string[] = [];
    if (full || this.model !== d.model || this.modelTag !== null) parts.push(this.model);
    if (this.modelTag !== null) parts.push(this.modelTag);
    parts.push(this.dataset, this.loss);
    if (full || this.classWeightNorm !== d.classWeightNorm) parts.push(this.classWeightNorm === 'l1' ? 'L1Normed' : 'NoNorm');
    parts.push(`E${this.epochs}`, `B${this.batchSize}`);
    if (full || this.crop !== d.crop) parts.push(this.crop ? 'C1' : 'C0');
    if (typeof this.classes === 'string') {
      if (full || this.classes !== d.classes) parts.push(this.classes);
    } else {
      parts.push(`N${this.classes.length}`);
    }
    if (this.augmentation.length) parts.push(`Aug${this.augmentation.map((a) => (a === 'affine' ? 'Affine' : 'Color')).join('')}`);
    else if (full) parts.push('NoAug');
    for (const t of this.transforms) parts.push(t.kind === 'sharp' ? `sharp${t.radius}${t.amount}` : t.kind === 'blur' ? 'gb' : 'hist');
    if (full || this.uncertainty.kind !== d.uncertainty.kind) parts.push(uncertaintyToken(this.uncertainty));
    if (full || this.blankPolicy !== d.blankPolicy) parts.push(this.blankPolicy === 'mask' ? 'BlankMask' : 'BlankZero');
    if (full || this.dim !== d.dim) parts.push(`D${this.dim}`);
    if (full || this.split.val !== d.split.val) parts.push(`DS${pct(this.split.train)}${pct(this.split.val)}`);
    if (full || this.learningRate !== d.learningRate) parts.push(lrToken(this.learningRate)!);
    if (this.lrFactor !== 1) parts.push(`LF${String(this.lrFactor).slice(2)}`);
    if (full || this.optimizer !== d.optimizer) parts.push({ sgd: 'SGD', adam: 'Adam', rmsprop: 'RMSprop' }[this.optimizer]);
    if (this.upsample) parts.push('Upsampled');
    if (full || this.seed !== d.seed) parts.push(`Seed${this.seed}`);
    if (this.engine !== 'auto') parts.push(this.engine);
    if (this.repeat !== null) parts.push(String(this.repeat));
    return parts.join('_');
  }

  toString(): string {
    return this.format();
  }

  /** The named class set, or null for an explicit list. */
  get classSet(): ClassSetName | null {
    return typeof this.classes === 'string' ? (this.classes as ClassSetName) : null;
  }

  /** Class names: the explicit list, or the class set through `resolve` (default: src/data/labels.ts's classSetNames). */
  classNames(resolve: ClassSetResolver = classSetNames): string[] {
    return typeof this.classes === 'string' ? [...resolve(this.dataset, this.classes as ClassSetName)] : [...this.classes];
  }

  /**
   * A copy with fields replaced. Values may be typed or strings as flags give them ('5', 'true',
   * 'affine,color', 'U75', '1e-4' or '1LR4', 'DS9505' or '0.95/0.05'); undefined values are
   * skipped; keys may be camelCase or kebab-case. A bad key or value is a MedtrainError naming the flag.
   */
  withOverrides(overrides: BenchmarkOverrides | Record<string, unknown>, opts: ParseOptions = {}): Benchmark {
    const f: Partial<BenchmarkFields> = { ...fieldsOf(this) };
    const given = new Set<keyof BenchmarkFields>();
    for (const [rawKey, value] of Object.entries(overrides)) {
      if (value === undefined) continue;
      const key = camel(rawKey) as keyof BenchmarkFields;
      if (!(FIELD_KEYS as readonly string[]).includes(key)) {
        throw new MedtrainError(`unknown benchmark field '${rawKey}'`, { code: 'bad-flag', column: `--${kebab(rawKey)}`, value: rawKey, hint: `known: ${FIELD_KEYS.map((k) => `--${kebab(k)}`).join(', ')}` });
      }
      (f as Record<string, unknown>)[key] = readField(key, value, opts.models ?? KNOWN_MODELS);
      given.add(key);
    }
    try {
      return new Benchmark(f, [...this.given, ...given]);
    } catch (e) {
      if (e instanceof MedtrainError && e.code === 'uncertainty-classes') {
        const flag = given.has('uncertainty') ? '--uncertainty' : '--classes';
        throw new MedtrainError(e.message, { code: 'bad-flag', column: flag, hint: e.hint });
      }
      throw e;
    }
  }

  /** Apply the benchmark flags among a script's parsed flags (others are ignored). */
  withFlags(flags: Record<string, unknown>, opts: ParseOptions = {}): Benchmark {
    const picked: Record<string, unknown> = {};
    for (const k of Object.keys(BENCHMARK_FLAGS)) if (flags[k] !== undefined) picked[k] = flags[k];
    if (flags.engine !== undefined) picked.engine = flags.engine;
    return this.withOverrides(picked, opts);
  }

  /** Same fields (the name included: canonical names are equal exactly when benchmarks are). */
  equals(other: Benchmark): boolean {
    return JSON.stringify(fieldsOf(this)) === JSON.stringify(fieldsOf(other));
  }

  /** The config JSON: the issue's keys in order, then modelTag, repeat, classSet. */
  toJSON(resolve?: ClassSetResolver | string): BenchmarkJSON {
    const names = typeof resolve === 'function' ? resolve : classSetNames; // JSON.stringify passes a key
    return {
      name: this.format(),
      model: this.model,
      dataset: this.dataset,
      classes: this.classNames(names),
      loss: this.loss,
      classWeightNorm: this.classWeightNorm,
      epochs: this.epochs,
      batchSize: this.batchSize,
      crop: this.crop,
      augmentation: [...this.augmentation],
      transforms: this.transforms.map((t) => ({ ...t })),
      uncertainty: { ...this.uncertainty },
      blankPolicy: this.blankPolicy,
      dim: this.dim,
      split: { ...this.split },
      learningRate: this.learningRate,
      lrFactor: this.lrFactor,
      optimizer: this.optimizer,
      upsample: this.upsample,
      seed: this.seed,
      engine: this.engine,
      modelTag: this.modelTag,
      repeat: this.repeat,
      classSet: this.classSet,
    };
  }
}

export const FIELD_KEYS = Object.keys(DEFAULTS) as readonly (keyof BenchmarkFields)[];

export type BenchmarkOverrides = { [K in keyof BenchmarkFields]?: BenchmarkFields[K] | string | number | boolean | null | readonly unknown[] | Record<string, unknown> };

/** The flags a training script offers to override a benchmark's fields (string-valued, parsed by withOverrides). */
export const BENCHMARK_FLAGS = {
  model: { type: 'string', value: 'M', help: `backbone (${KNOWN_MODELS.join(', ')})` },
  'model-tag': { type: 'string', value: 'TAG', help: 'a label after the model in the name' },
  dataset: { type: 'string', value: 'D', help: 'chexpert or chestxray14' },
  classes: { type: 'string', value: 'C', help: 'a class set (N5, N12, N14) or class names separated by commas' },
  loss: { type: 'string', value: 'L', help: LOSSES.join(', ') },
  'class-weight-norm': { type: 'string', value: 'N', help: 'l1 (L1-normalised ×10) or none' },
  epochs: { type: 'string', value: 'N', help: 'epochs' },
  'batch-size': { type: 'string', value: 'N', help: 'batch size' },
  crop: { type: 'string', value: 'BOOL', help: 'lung-field crop of frontal views: true or false' },
  augmentation: { type: 'string', value: 'A', help: 'none, affine, color or affine,color' },
  transforms: { type: 'string', value: 'T', help: 'none or a comma list of sharp21, gb, hist' },
  uncertainty: { type: 'string', value: 'U', help: 'ignore, zeros, ones, <z><o> (as 75), lsr-ones or lsr-zeros' },
  'blank-policy': { type: 'string', value: 'P', help: 'zero or mask' },
  dim: { type: 'string', value: 'PX', help: 'image side in pixels' },
  split: { type: 'string', value: 'S', help: 'train/val fractions as 0.95/0.05 (or DS9505)' },
  'learning-rate': { type: 'string', value: 'LR', help: 'learning rate, as 1e-4 (or 1LR4)' },
  'lr-factor': { type: 'string', value: 'F', help: 'per-epoch LR factor in (0, 1], as 0.5' },
  optimizer: { type: 'string', value: 'O', help: 'sgd (momentum 0.9), adam or rmsprop' },
  upsample: { type: 'string', value: 'BOOL', help: 'upsample rare positives: true or false' },
  seed: { type: 'string', value: 'N', help: 'the seed of every random draw' },
  repeat: { type: 'string', value: 'N', help: 'repeat index of the same configuration' },
} satisfies FlagSpecs;

// ---------- validation and value readers ----------

function fieldsOf(b: BenchmarkFields): BenchmarkFields {
  const o = {} as Record<string, unknown>;
  for (const k of FIELD_KEYS) o[k] = b[k];
  return o as unknown as BenchmarkFields;
}

function camel(k: string): string {
  return k.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function pct(x: number): string {
  return String(Math.round(x * 100)).padStart(2, '0');
}

function uncertaintyToken(u: Uncertainty): string {
  switch (u.kind) {
    case 'ignore':
      return 'Uignore';
    case 'zeros':
      return 'Uzeroes';
    case 'ones':
      return 'Uones';
    case 'lsr-ones':
      return 'ULSRones';
    case 'lsr-zeros':
      return 'ULSRzeroes';
    case 'mixed':
      return `U${u.zeros}${u.ones}`;
  }
}

/** The token m LR k for a learning rate, or null unless some m·10^-k (m up to 6 digits) equals it exactly. */
export function lrToken(lr: number): string | null {
  for (let k = 0; k <= 20; k++) {
    const m = Math.round(lr * 10 ** k);
    if (m > 999_999) return null;
    if (m > 0 && Number(`${m}e-${k}`) === lr) return `${m}LR${k}`;
  }
  return null;
}

function bad(field: keyof BenchmarkFields, message: string, value: unknown, hint?: string): MedtrainError {
  return new MedtrainError(`${kebab(field)}: ${message}`, { code: 'bad-flag', column: `--${kebab(field)}`, value, ...(hint && { hint }) });
}

/** Check every field's type and range, and the fields against each other. */
function checkFields(b: BenchmarkFields): void {
  const int = (k: keyof BenchmarkFields, min: number, max: number) => {
    const v = b[k] as number;
    if (!Number.isSafeInteger(v) || v < min || v > max) throw bad(k, `needs an integer from ${min} to ${max}`, v);
  };
  if (typeof b.model !== 'string' || !/^[A-Za-z][A-Za-z0-9-]*$/.test(b.model)) throw bad('model', 'needs a model name of letters and digits', b.model);
  if (b.modelTag !== null && (typeof b.modelTag !== 'string' || !/^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/.test(b.modelTag) || b.modelTag.split('_').some((p) => datasetOf(p.toLowerCase())))) {
    throw bad('modelTag', 'needs letters, digits, "-" or "_" and no dataset word', b.modelTag);
  }
  if (!DATASETS.includes(b.dataset)) throw bad('dataset', `unknown dataset`, b.dataset, `use ${DATASETS.join(' or ')}`);
  if (typeof b.classes === 'string') {
    if (!(CLASS_SETS as readonly string[]).includes(b.classes)) throw bad('classes', 'unknown class set', b.classes, `use ${CLASS_SETS.join(', ')} or a list of class names`);
    if (DATASETS.includes(b.dataset)) {
      try {
        classSetNames(b.dataset, b.classes as ClassSetName);
      } catch (e) {
        throw bad('classes', `${b.dataset} has no class set ${b.classes}`, b.classes, (e as MedtrainError).hint);
      }
    }
  } else if (!Array.isArray(b.classes) || b.classes.length === 0 || b.classes.some((c) => typeof c !== 'string' || !c.trim())) {
    throw bad('classes', 'needs a class set or a non-empty list of class names', b.classes);
  } else if (new Set(b.classes).size !== b.classes.length) {
    throw bad('classes', 'names a class twice', b.classes);
  }
  if (!LOSSES.includes(b.loss)) throw bad('loss', 'unknown loss', b.loss, `use ${LOSSES.join(', ')}`);
  if (b.classWeightNorm !== 'l1' && b.classWeightNorm !== 'none') throw bad('classWeightNorm', 'must be l1 or none', b.classWeightNorm);
  int('epochs', 1, 100000);
  int('batchSize', 1, 65536);
  if (typeof b.crop !== 'boolean') throw bad('crop', 'must be true or false', b.crop);
  if (!Array.isArray(b.augmentation) || b.augmentation.some((a) => a !== 'affine' && a !== 'color') || new Set(b.augmentation).size !== b.augmentation.length) {
    throw bad('augmentation', 'must be a list of affine and color', b.augmentation);
  }
  if (b.augmentation.length === 2 && b.augmentation[0] !== 'affine') throw bad('augmentation', 'affine comes before color', b.augmentation);
  checkTransforms(b.transforms);
  checkUncertainty(b.uncertainty);
  if (b.blankPolicy !== 'zero' && b.blankPolicy !== 'mask') throw bad('blankPolicy', 'must be zero or mask', b.blankPolicy);
  int('dim', 16, 4096);
  const s = b.split;
  const pcts = s && [s.train * 100, s.val * 100];
  if (!s || !pcts!.every((p) => Number.isFinite(p) && Math.abs(p - Math.round(p)) < 1e-9) || Math.round(pcts![0]!) + Math.round(pcts![1]!) !== 100 || s.val <= 0) {
    throw bad('split', 'needs train and val fractions in whole percent that add up to 1, with some validation', s, 'as 0.95/0.05');
  }
  if (s.train !== Math.round(s.train * 100) / 100 || s.val !== Math.round(s.val * 100) / 100) throw bad('split', 'needs whole percents', s);
  if (typeof b.learningRate !== 'number' || !(b.learningRate > 0) || !Number.isFinite(b.learningRate) || lrToken(b.learningRate) === null) {
    throw bad('learningRate', 'needs a positive decimal number (m·10^-k)', b.learningRate, 'as 1e-4 or 0.2');
  }
  if (typeof b.lrFactor !== 'number' || !(b.lrFactor > 0 && b.lrFactor <= 1) || (b.lrFactor < 1 && !/^0\.\d+$/.test(String(b.lrFactor)))) {
    throw bad('lrFactor', 'needs a decimal factor in (0, 1]', b.lrFactor, 'as 0.5');
  }
  if (!OPTIMIZERS.includes(b.optimizer)) throw bad('optimizer', 'unknown optimizer', b.optimizer, `use ${OPTIMIZERS.join(', ')}`);
  if (typeof b.upsample !== 'boolean') throw bad('upsample', 'must be true or false', b.upsample);
  int('seed', 0, Number.MAX_SAFE_INTEGER);
  if (b.engine !== 'auto' && !(ENGINES as readonly string[]).includes(b.engine)) throw bad('engine', 'unknown engine', b.engine, `use auto, ${ENGINES.join(', ')}`);
  if (b.repeat !== null) int('repeat', 0, Number.MAX_SAFE_INTEGER);
  const u = b.uncertainty;
  if (u.kind === 'mixed') {
    const n = typeof b.classes === 'string' ? Number(b.classes.slice(1)) : b.classes.length;
    if (u.zeros + u.ones !== n) {
      throw new MedtrainError(`the mixed encoding U${u.zeros}${u.ones} maps ${u.zeros + u.ones} classes, but there are ${n}`, {
        code: 'uncertainty-classes',
        hint: `choose zeros + ones = ${n}, or another class set`,
      });
    }
  }
}

function checkTransforms(ts: readonly Transform[]): void {
  if (!Array.isArray(ts)) throw bad('transforms', 'must be a list', ts);
  const seen = new Set<string>();
  for (const t of ts) {
    const ok =
      t && typeof t === 'object' && (t.kind === 'blur' || t.kind === 'hist' || (t.kind === 'sharp' && [t.radius, t.amount].every((x) => Number.isInteger(x) && x >= 1 && x <= 9)));
    if (!ok) throw bad('transforms', 'unknown transform', t, 'use sharp<radius><amount> (digits 1-9, as sharp21), gb or hist');
    if (seen.has(t.kind)) throw bad('transforms', 'names a transform twice', ts);
    seen.add(t.kind);
  }
}

function checkUncertainty(u: Uncertainty): void {
  const kinds = ['ignore', 'zeros', 'ones', 'mixed', 'lsr-ones', 'lsr-zeros'];
  if (!u || typeof u !== 'object' || !kinds.includes(u.kind)) throw bad('uncertainty', 'unknown encoding', u, 'use ignore, zeros, ones, <z><o> (as 75), lsr-ones or lsr-zeros');
  if (u.kind === 'mixed' && ![u.zeros, u.ones].every((x) => Number.isInteger(x) && x >= 0 && x <= 9)) {
    throw bad('uncertainty', 'a mixed encoding counts zeros and ones with one digit each', u);
  }
}

function readBool(k: keyof BenchmarkFields, v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw bad(k, 'must be true or false', v);
}

function readInt(k: keyof BenchmarkFields, v: unknown): number {
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw bad(k, 'needs an integer', v);
  return n;
}

function readNumber(k: keyof BenchmarkFields, v: unknown): number {
  const n = typeof v === 'number' ? v : String(v).trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n)) throw bad(k, 'needs a number', v);
  return n;
}

function list(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x.trim() : x)) as string[];
  return String(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One field's value from a typed value or a flag string. */
function readField(k: keyof BenchmarkFields, v: unknown, models: readonly string[]): unknown {
  switch (k) {
    case 'model': {
      const m = lookupModel(String(v).trim().toLowerCase(), models);
      if (!m) throw bad(k, 'unknown model', v, `use one of ${models.join(', ')}`);
      return m;
    }
    case 'modelTag': {
      const s = v === null ? '' : String(v).trim();
      return s === '' || s.toLowerCase() === 'none' ? null : s;
    }
    case 'dataset': {
      const d = datasetOf(String(v).trim().toLowerCase());
      if (!d) throw bad(k, 'unknown dataset', v, `use ${DATASETS.join(' or ')}`);
      return d;
    }
    case 'classes': {
      if (typeof v === 'string') {
        const set = CLASS_SETS.find((s) => s.toLowerCase() === v.trim().toLowerCase());
        if (set) return set;
      }
      return list(v);
    }
    case 'loss': {
      const l = lossOf(String(v).trim().toLowerCase());
      if (!l) throw bad(k, 'unknown loss', v, `use ${LOSSES.join(', ')}`);
      return l;
    }
    case 'classWeightNorm': {
      const s = String(v).trim().toLowerCase();
      if (s === 'l1' || s === 'l1normed') return 'l1';
      if (s === 'none' || s === 'nonorm') return 'none';
      throw bad(k, 'must be l1 or none', v);
    }
    case 'epochs':
    case 'batchSize':
    case 'dim':
    case 'seed':
      return readInt(k, v);
    case 'repeat':
      return v === null || String(v).toLowerCase() === 'none' ? null : readInt(k, v);
    case 'crop':
    case 'upsample':
      return readBool(k, v);
    case 'augmentation': {
      if (Array.isArray(v)) return v;
      const s = String(v).trim().toLowerCase();
      if (s === 'none' || s === 'noaug' || s === '') return [];
      const parts = s.startsWith('aug') ? (s.slice(3).match(/affine|color/g) ?? [s]) : list(s);
      const out = (['affine', 'color'] as const).filter((a) => parts.includes(a));
      if (out.length !== parts.length) throw bad(k, 'must be none, affine, color or affine,color', v);
      return out;
    }
    case 'transforms': {
      if (Array.isArray(v) && v.every((t) => typeof t === 'object')) return v;
      const words = list(v).map((w) => w.toLowerCase());
      if (words.length === 1 && words[0] === 'none') return [];
      const out: Partial<Tail> = {};
      for (const w of words) {
        const problem = SLOTS[1]!.match(w) ? SLOTS[1]!.read(w, out) : 'unknown transform';
        if (problem) throw bad(k, `${problem} ('${w}')`, v, 'use sharp<radius><amount> (as sharp21), gb or hist');
      }
      return out.transforms ?? [];
    }
    case 'uncertainty': {
      if (typeof v === 'object' && v !== null) return v;
      const s = String(v).trim().toLowerCase();
      const u = uncertaintyFromWord(s.startsWith('u') && s !== 'u' ? s.slice(1) : s);
      if (typeof u === 'string') throw bad(k, u, v, 'use ignore, zeros, ones, <z><o> (as 75), lsr-ones or lsr-zeros');
      return u;
    }
    case 'blankPolicy': {
      const s = String(v).trim().toLowerCase();
      if (s === 'zero' || s === 'zeros' || s === 'blankzero') return 'zero';
      if (s === 'mask' || s === 'masked' || s === 'blankmask') return 'mask';
      throw bad(k, 'must be zero or mask', v);
    }
    case 'split': {
      if (typeof v === 'object' && v !== null) return v;
      const s = String(v).trim().toLowerCase();
      if (/^(ds)?\d{4}$/.test(s)) {
        const out: Partial<Tail> = {};
        const problem = SLOTS[5]!.read(s.startsWith('ds') ? s : `ds${s}`, out);
        if (problem) throw bad(k, problem, v);
        return out.split;
      }
      const parts = s.split('/').map(Number);
      if (parts.length === 2 && parts.every(Number.isFinite)) return { train: parts[0]!, val: parts[1]! };
      if (parts.length === 1 && Number.isFinite(parts[0]!) && parts[0]! > 0 && parts[0]! < 1) return { train: Math.round((1 - parts[0]!) * 100) / 100, val: parts[0]! };
      throw bad(k, 'needs train/val fractions', v, 'as 0.95/0.05, DS9505, or the val fraction alone (0.05)');
    }
    case 'learningRate': {
      const s = String(v).trim().toLowerCase();
      const m = /^(\d+)lr(\d+)$/.exec(s);
      return m ? Number(`${m[1]}e-${m[2]}`) : readNumber(k, v);
    }
    case 'lrFactor': {
      const s = String(v).trim().toLowerCase();
      const m = /^lf(\d+)$/.exec(s);
      return m ? Number(`0.${m[1]}`) : readNumber(k, v);
    }
    case 'optimizer': {
      const s = String(v).trim().toLowerCase();
      if (!(OPTIMIZERS as readonly string[]).includes(s)) throw bad(k, 'unknown optimizer', v, `use ${OPTIMIZERS.join(', ')}`);
      return s;
    }
    case 'engine':
      try {
        return resolveEngineRequest(String(v));
      } catch {
        throw bad(k, 'unknown engine', v, `use auto, ${ENGINES.join(', ')}`);
      }
  }
}
