/**
 * The fields of a Benchmark: types, documented defaults, how a flag's or config's value becomes a
 * field, and the checks. Each field's grammar belongs to the concept's owner (src/data/labels for
 * uncertainty, blank cells and class sets; src/data/image/intensity.ts for transforms;
 * src/data/augment.ts; src/losses; the model registry; src/backend's engines; the optimizers); this
 * file binds them to fields, and the name's token table (name.ts) binds them to tokens.
 */
import { ENGINES, resolveEngineRequest, type EngineRequest } from '../../backend/engines.js';
import { AUGMENT_SYNTAX, parseAugmentations, type AugmentationName } from '../../data/augment.js';
import { DATA_DEFAULTS } from '../../data/dataset.js';
import { checkTransform, parseTransforms, transformToken, TRANSFORM_SYNTAX, type IntensityTransform } from '../../data/image/intensity.js';
import { CLASS_SETS, classSetNames, classSetOf, classSetSize, type ClassSetName } from '../../data/labels/classes.js';
import { BLANK_SYNTAX, parseBlankPolicy, type BlankPolicy } from '../../data/labels/encode.js';
import { checkUncertainty, parseUncertainty, UNCERTAINTY_SYNTAX, type Uncertainty } from '../../data/labels/uncertainty.js';
import { DATASETS, datasetOf, type DatasetName } from '../../data/tables/detect.js';
import { LOSSES, parseLossName, type LossName } from '../../losses/names.js';
import { parseNormalization, type Normalization } from '../../losses/class-weights.js';
import { modelNames } from '../../models/registry.js';
import { MedtrainError } from '../../util/errors.js';
import { OPTIMIZERS, optimizerOf, type OptimizerName } from '../optimizers.js';

/** A named class set, or an explicit list of class names (label-table column names). */
export type ClassSelection = ClassSetName | readonly string[];

export interface BenchmarkFields {
  /** Backbone, as the model registry names it. Default DenseNet121. */
  model: string;
  /** A free label after the model (`DenseNet121_run2_…`, `Xception-2_…`), or null. */
  modelTag: string | null;
  /** Default chexpert. */
  dataset: DatasetName;
  /** Default N14 (every class of the dataset). */
  classes: ClassSelection;
  loss: LossName;
  /** Class weights L1-normalised ×10 (the reference formulas, `L1Normed`) or raw (`NoNorm`). Default l1. */
  classWeightNorm: Normalization;
  epochs: number;
  batchSize: number;
  /** Lung-field crop of frontal views (C1). Default false. */
  crop: boolean;
  /** Training augmentations, in canonical order. Default none. */
  augmentation: readonly AugmentationName[];
  /** Intensity transforms applied to every image (training and evaluation alike), in order. Default none. */
  transforms: readonly IntensityTransform[];
  /** Default ignore (masked). */
  uncertainty: Uncertainty;
  /** Blank (not mentioned) cells: 0 (default) or masked. */
  blankPolicy: BlankPolicy;
  /** Image side in pixels. Default 256. */
  dim: number;
  /** Train/val fractions of the training table, grouped by patient. Default 0.8 / 0.2. */
  split: { train: number; val: number };
  /**
   * One fold of a K-fold split of the training table (patient-grouped, stratified over every class at
   * once): its val split is fold `index` (1-based) and train the other folds, in place of `split`. Default null.
   */
  fold: { index: number; of: number } | null;
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
  uncertainty: DATA_DEFAULTS.uncertainty,
  blankPolicy: DATA_DEFAULTS.blank,
  dim: 256,
  split: { train: Math.round((1 - DATA_DEFAULTS.val) * 100) / 100, val: DATA_DEFAULTS.val },
  fold: null,
  learningRate: 1e-3,
  lrFactor: 1,
  optimizer: 'adam',
  upsample: false,
  seed: DATA_DEFAULTS.seed,
  engine: 'auto',
  repeat: null,
});

export const FIELD_KEYS = Object.keys(DEFAULTS) as readonly (keyof BenchmarkFields)[];

export function kebab(k: string): string {
  return k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** A flag's problem: a MedtrainError naming the flag (`--learning-rate`) and the value. */
export function fieldError(field: keyof BenchmarkFields, message: string, value: unknown, hint?: string): MedtrainError {
  return new MedtrainError(message, { code: 'bad-flag', column: `--${kebab(field)}`, value, ...(hint && { hint }) });
}

/** The number of classes a selection holds. */
export function classCount(classes: ClassSelection): number {
  return typeof classes === 'string' ? classSetSize(classes as ClassSetName) : classes.length;
}

/** The model names a benchmark may use: the model registry's. */
export const KNOWN_MODELS: readonly string[] = modelNames();

export function lookupModel(word: string, models: readonly string[]): string | undefined {
  const w = word.trim().toLowerCase();
  return models.find((m) => m.toLowerCase() === w);
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

/** `[m]LR<k>` (m·10^-k; LR1 = 0.1, as the reference codebase reads it), a number, or a problem. */
export function readLearningRate(text: string): number | string {
  const m = /^(\d*)lr(\d*)$/i.exec(text.trim());
  if (!m) return text.trim() === '' || !Number.isFinite(Number(text)) ? 'needs a number' : Number(text);
  if (!m[2]) return 'the learning rate needs its exponent digits after LR, as 1LR4 = 1e-4 (LR1 = 0.1)';
  return Number(`${m[1] || '1'}e-${m[2]}`);
}

/** `DS<train%><val%>` (four digits), or a problem. */
export function readSplitToken(lower: string): { train: number; val: number } | string {
  const m = /^ds(\d\d)(\d\d)$/.exec(lower);
  if (!m) return 'the split needs four digits, train% then val%, as DS9505';
  const tr = Number(m[1]);
  const va = Number(m[2]);
  if (tr + va !== 100 || va === 0) return `train% + val% must be 100 with some validation (${tr} + ${va})`;
  return { train: tr / 100, val: va / 100 };
}

/** `Fold<k>of<K>`, or a problem. */
export function readFoldToken(lower: string): { index: number; of: number } | string {
  const m = /^fold(\d+)of(\d+)$/.exec(lower);
  if (!m) return 'a fold is written Fold<k>of<K>, as Fold2of5';
  const [index, of] = [Number(m[1]), Number(m[2])];
  if (!(of >= 2 && of <= 100 && index >= 1 && index <= of)) return `fold ${m[1]} of ${m[2]} is out of range: 1 <= k <= K, 2 <= K <= 100`;
  return { index, of };
}

export function pct(x: number): string {
  return String(Math.round(x * 100)).padStart(2, '0');
}

/** A field's value as given: its type, or a string as a flag gives it. */
type FieldInput = unknown;

/** One field: its flag's placeholder and help, and how a value (typed, or a flag's string) is read. */
export interface FieldSpec {
  value: string;
  help: string;
  /** The field's value; throws a field error. `uncertainty` gets the class count of the final classes. */
  read(v: FieldInput, ctx: { models: readonly string[]; classCount: number }): unknown;
}

function text(v: FieldInput): string {
  return String(v).trim();
}

function readBool(k: keyof BenchmarkFields, v: FieldInput): boolean {
  if (typeof v === 'boolean') return v;
  const s = text(v).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw fieldError(k, 'must be true or false', v);
}

function readInt(k: keyof BenchmarkFields, v: FieldInput): number {
  const n = typeof v === 'number' ? v : /^\s*-?\d+\s*$/.test(String(v)) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw fieldError(k, 'needs an integer', v);
  return n;
}

function list(v: FieldInput): string[] {
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x.trim() : x)) as string[];
  return text(v)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Re-throw an owner's grammar error as the flag's error, keeping its message and hint. */
function owned<T>(k: keyof BenchmarkFields, v: FieldInput, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof MedtrainError) throw fieldError(k, e.problem, v, e.hint);
    throw e;
  }
}

export const FIELDS: Record<keyof BenchmarkFields, FieldSpec> = {
  model: {
    value: 'M',
    help: `backbone (${KNOWN_MODELS.join(', ')})`,
    read(v, { models }) {
      const m = lookupModel(text(v), models);
      if (!m) throw fieldError('model', 'unknown model', v, `use one of ${models.join(', ')}`);
      return m;
    },
  },
  modelTag: {
    value: 'TAG',
    help: 'a label after the model in the name',
    read: (v) => (v === null || text(v) === '' || text(v).toLowerCase() === 'none' ? null : text(v)),
  },
  dataset: {
    value: 'D',
    help: DATASETS.join(' or '),
    read(v) {
      const d = datasetOf(text(v));
      if (!d) throw fieldError('dataset', 'unknown dataset', v, `use ${DATASETS.join(' or ')}`);
      return d;
    },
  },
  classes: {
    value: 'C',
    help: `a class set (${CLASS_SETS.join(', ')}) or class names separated by commas`,
    read: (v) => (typeof v === 'string' && classSetOf(v)) || list(v),
  },
  loss: { value: 'L', help: LOSSES.join(', '), read: (v) => owned('loss', v, () => parseLossName(text(v))) },
  classWeightNorm: { value: 'N', help: 'l1 (L1-normalised ×10) or none', read: (v) => owned('classWeightNorm', v, () => parseNormalization(text(v))) },
  epochs: { value: 'N', help: 'epochs', read: (v) => readInt('epochs', v) },
  batchSize: { value: 'N', help: 'batch size', read: (v) => readInt('batchSize', v) },
  crop: { value: 'BOOL', help: 'lung-field crop of frontal views: true or false', read: (v) => readBool('crop', v) },
  augmentation: { value: 'A', help: AUGMENT_SYNTAX, read: (v) => owned('augmentation', v, () => parseAugmentations(v as string | string[])) },
  transforms: { value: 'T', help: `none, or a comma list of ${TRANSFORM_SYNTAX}`, read: (v) => owned('transforms', v, () => parseTransforms(v as string)) },
  uncertainty: {
    value: 'U',
    help: UNCERTAINTY_SYNTAX,
    read: (v, { classCount: n }) => owned('uncertainty', v, () => (typeof v === 'string' ? parseUncertainty(v, n) : checkUncertainty(v))),
  },
  blankPolicy: { value: 'P', help: BLANK_SYNTAX, read: (v) => owned('blankPolicy', v, () => parseBlankPolicy(text(v))) },
  dim: { value: 'PX', help: 'image side in pixels', read: (v) => readInt('dim', v) },
  split: {
    value: 'S',
    help: 'train/val fractions as 0.95/0.05, the val fraction alone (0.05), or DS9505',
    read(v) {
      if (typeof v === 'object' && v !== null) return v;
      const s = text(v).toLowerCase();
      if (/^(ds)?\d{4}$/.test(s)) {
        const r = readSplitToken(s.startsWith('ds') ? s : `ds${s}`);
        if (typeof r === 'string') throw fieldError('split', r, v);
        return r;
      }
      const parts = s.split('/').map(Number);
      if (parts.length === 2 && parts.every(Number.isFinite)) return { train: parts[0]!, val: parts[1]! };
      if (parts.length === 1 && Number.isFinite(parts[0]!) && parts[0]! > 0 && parts[0]! < 1) return { train: Math.round((1 - parts[0]!) * 100) / 100, val: parts[0]! };
      throw fieldError('split', 'needs train/val fractions', v, 'as 0.95/0.05, DS9505, or the val fraction alone (0.05)');
    },
  },
  fold: {
    value: 'k/K',
    help: 'fold k of a K-fold split by patient, stratified over the classes (its val is fold k), as 2/5 or Fold2of5',
    read(v) {
      if (v === null || (typeof v === 'string' && ['', 'none'].includes(v.trim().toLowerCase()))) return null;
      if (typeof v === 'object') return v;
      const r = readFoldToken(text(v).toLowerCase().replace(/^(\d+)\/(\d+)$/, 'fold$1of$2'));
      if (typeof r === 'string') throw fieldError('fold', r, v, 'as 2/5 (fold 2 of 5)');
      return r;
    },
  },
  learningRate: {
    value: 'LR',
    help: 'learning rate, as 1e-4, 0.2 or the name token 1LR4',
    read(v) {
      if (typeof v === 'number') return v;
      const r = readLearningRate(text(v));
      if (typeof r === 'string') throw fieldError('learningRate', r, v);
      return r;
    },
  },
  lrFactor: {
    value: 'F',
    help: 'per-epoch LR factor in (0, 1], as 0.5 or the name token LF5',
    read(v) {
      if (typeof v === 'number') return v;
      const m = /^lf(\d+)$/i.exec(text(v));
      const n = m ? Number(`0.${m[1]}`) : text(v) === '' ? NaN : Number(v);
      if (!Number.isFinite(n)) throw fieldError('lrFactor', 'needs a number', v);
      return n;
    },
  },
  optimizer: {
    value: 'O',
    help: 'sgd (momentum 0.9), adam or rmsprop',
    read(v) {
      const o = optimizerOf(text(v));
      if (!o) throw fieldError('optimizer', 'unknown optimizer', v, `use ${OPTIMIZERS.join(', ')}`);
      return o;
    },
  },
  upsample: { value: 'BOOL', help: 'upsample rare positives: true or false', read: (v) => readBool('upsample', v) },
  seed: { value: 'N', help: 'the seed of every random draw', read: (v) => readInt('seed', v) },
  engine: {
    value: 'E',
    help: `engine: auto, ${ENGINES.join(', ')} (or MEDTRAIN_ENGINE)`,
    read: (v) => {
      try {
        return resolveEngineRequest(text(v));
      } catch {
        throw fieldError('engine', 'unknown engine', v, `use auto, ${ENGINES.join(', ')}`);
      }
    },
  },
  repeat: { value: 'N', help: 'repeat index of the same configuration', read: (v) => (v === null || text(v).toLowerCase() === 'none' ? null : readInt('repeat', v)) },
};

/** Check every field's type and range, and the fields against each other. */
export function checkFields(b: BenchmarkFields): void {
  const int = (k: keyof BenchmarkFields, min: number, max: number) => {
    const v = b[k] as number;
    if (!Number.isSafeInteger(v) || v < min || v > max) throw fieldError(k, `needs an integer from ${min} to ${max}`, v);
  };
  if (typeof b.model !== 'string' || !/^[A-Za-z][A-Za-z0-9]*$/.test(b.model)) throw fieldError('model', 'needs a model name of letters and digits', b.model);
  if (b.modelTag !== null && (typeof b.modelTag !== 'string' || !/^[A-Za-z0-9-]+(?:_[A-Za-z0-9-]+)*$/.test(b.modelTag) || b.modelTag.split('_').some((p) => datasetOf(p)))) {
    throw fieldError('modelTag', 'needs letters, digits, "-" or "_" and no dataset word', b.modelTag);
  }
  if (!DATASETS.includes(b.dataset)) throw fieldError('dataset', 'unknown dataset', b.dataset, `use ${DATASETS.join(' or ')}`);
  if (typeof b.classes === 'string') {
    if (!classSetOf(b.classes) || classSetOf(b.classes) !== b.classes) throw fieldError('classes', 'unknown class set', b.classes, `use ${CLASS_SETS.join(', ')} or a list of class names`);
    try {
      classSetNames(b.dataset, b.classes as ClassSetName);
    } catch (e) {
      throw fieldError('classes', `${b.dataset} has no class set ${b.classes}`, b.classes, (e as MedtrainError).hint);
    }
  } else if (!Array.isArray(b.classes) || b.classes.length === 0 || b.classes.some((c) => typeof c !== 'string' || !c.trim())) {
    throw fieldError('classes', 'needs a class set or a non-empty list of class names', b.classes);
  } else if (new Set(b.classes).size !== b.classes.length) {
    throw fieldError('classes', 'names a class twice', b.classes);
  }
  if (!LOSSES.includes(b.loss)) throw fieldError('loss', 'unknown loss', b.loss, `use ${LOSSES.join(', ')}`);
  if (b.classWeightNorm !== 'l1' && b.classWeightNorm !== 'none') throw fieldError('classWeightNorm', 'must be l1 or none', b.classWeightNorm);
  int('epochs', 1, 100000);
  int('batchSize', 1, 65536);
  if (typeof b.crop !== 'boolean') throw fieldError('crop', 'must be true or false', b.crop);
  if (!Array.isArray(b.augmentation) || owned('augmentation', b.augmentation, () => parseAugmentations(b.augmentation)).join() !== b.augmentation.join()) {
    throw fieldError('augmentation', 'must be a list of augmentation names in canonical order', b.augmentation, AUGMENT_SYNTAX);
  }
  if (!Array.isArray(b.transforms)) throw fieldError('transforms', 'must be a list', b.transforms);
  const kinds = new Set<string>();
  for (const t of b.transforms) {
    owned('transforms', t, () => checkTransform(t));
    if (!/^[a-z0-9]+$/.test(transformToken(t))) throw fieldError('transforms', `${transformToken(t)} cannot be written in a benchmark name (whole numbers only)`, t, TRANSFORM_SYNTAX);
    if (kinds.has(t.kind)) throw fieldError('transforms', 'transform named twice', b.transforms);
    kinds.add(t.kind);
  }
  owned('uncertainty', b.uncertainty, () => checkUncertainty(b.uncertainty));
  if (b.blankPolicy !== 'zero' && b.blankPolicy !== 'mask') throw fieldError('blankPolicy', 'must be zero or mask', b.blankPolicy);
  int('dim', 16, 4096);
  const s = b.split;
  const pcts = s && [s.train * 100, s.val * 100];
  if (!s || !pcts!.every((p) => Number.isFinite(p) && Math.abs(p - Math.round(p)) < 1e-9) || Math.round(pcts![0]!) + Math.round(pcts![1]!) !== 100 || s.val <= 0) {
    throw fieldError('split', 'needs train and val fractions in whole percent that add up to 1, with some validation', s, 'as 0.95/0.05');
  }
  if (s.train !== Math.round(s.train * 100) / 100 || s.val !== Math.round(s.val * 100) / 100) throw fieldError('split', 'needs whole percents', s);
  if (b.fold !== null) {
    const f = b.fold;
    if (typeof f !== 'object' || !Number.isSafeInteger(f.of) || f.of < 2 || f.of > 100 || !Number.isSafeInteger(f.index) || f.index < 1 || f.index > f.of) {
      throw fieldError('fold', 'needs fold k of K folds, 1 <= k <= K, 2 <= K <= 100', f === null || typeof f !== 'object' ? f : `${f.index}/${f.of}`, 'as 2/5 (fold 2 of 5)');
    }
    if (s.val !== DEFAULTS.split.val) throw fieldError('fold', "a fold's val split is the fold: leave the train/val split (DS) at its default", `${f.index}/${f.of}`, 'drop DS<train%><val%> or the fold');
  }
  if (typeof b.learningRate !== 'number' || !(b.learningRate > 0) || !Number.isFinite(b.learningRate) || lrToken(b.learningRate) === null) {
    throw fieldError('learningRate', 'needs a positive decimal number (m·10^-k)', b.learningRate, 'as 1e-4 or 0.2');
  }
  if (typeof b.lrFactor !== 'number' || !(b.lrFactor > 0 && b.lrFactor <= 1) || (b.lrFactor < 1 && !/^0\.\d+$/.test(String(b.lrFactor)))) {
    throw fieldError('lrFactor', 'needs a decimal factor in (0, 1]', b.lrFactor, 'as 0.5');
  }
  if (!OPTIMIZERS.includes(b.optimizer)) throw fieldError('optimizer', 'unknown optimizer', b.optimizer, `use ${OPTIMIZERS.join(', ')}`);
  if (typeof b.upsample !== 'boolean') throw fieldError('upsample', 'must be true or false', b.upsample);
  int('seed', 0, Number.MAX_SAFE_INTEGER);
  if (b.engine !== 'auto' && !(ENGINES as readonly string[]).includes(b.engine)) throw fieldError('engine', 'unknown engine', b.engine, `use auto, ${ENGINES.join(', ')}`);
  if (b.repeat !== null) int('repeat', 0, Number.MAX_SAFE_INTEGER);
  // The mixed encoding against the class count: code 'uncertainty-classes' (callers point at the token or flag).
  checkUncertainty(b.uncertainty, classCount(b.classes));
}
