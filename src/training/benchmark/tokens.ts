/**
 * The token table of benchmark names: one row per kind of token, in the order tokens stand in a
 * name, each with its syntax, meaning and example (for the grammar table), how it is recognised,
 * read (by the grammar of the concept's owner) and written. name.ts derives parsing, formatting and
 * the grammar from it; a new token is one new row here.
 */
import { ENGINES, type EngineRequest } from '../../backend/engines.js';
import { augmentationToken, parseAugmentations } from '../../data/augment.js';
import { isTransformToken, parseTransform, transformToken } from '../../data/image/intensity.js';
import { CLASS_SETS, classSetOf } from '../../data/labels/classes.js';
import { parseBlankPolicy } from '../../data/labels/encode.js';
import { isUncertaintyToken, uncertaintyToken } from '../../data/labels/uncertainty.js';
import { LOSSES, lossOf } from '../../losses/names.js';
import { MedtrainError } from '../../util/errors.js';
import { OPTIMIZERS, optimizerOf, optimizerToken } from '../optimizers.js';
import { classCount, DEFAULTS, lrToken, pct, readFoldToken, readLearningRate, readSplitToken, type BenchmarkFields } from './fields.js';

/** One kind of token. */
export interface TokenRule {
  field: keyof BenchmarkFields;
  /** As the grammar writes it: `E<epochs>`. */
  syntax: string;
  /** What it means, for the grammar table. */
  meaning: string;
  example: string;
  /** What a reader expects here, for messages: 'the number of epochs (_E<n>)'. */
  expect: string;
  required?: boolean;
  /** Several tokens may stand in a row (transforms). */
  repeats?: boolean;
  /** Whether a lower-case token belongs to this rule, by its shape. */
  match(lower: string): boolean;
  /** The token's value; throws MedtrainError (its message is shown at the token) when the value is bad. */
  read(text: string, lower: string): unknown;
  /** The tokens this field writes: [] when left out. */
  write(b: BenchmarkFields, full: boolean): string[];
}

/** A bad value in a token of the right shape (its message is shown as is). */
export function problem(message: string): MedtrainError {
  return new MedtrainError(message, { code: 'bad-token' });
}

function intToken(prefix: string, what: string, min: number, max: number): (text: string, lower: string) => number {
  return (_text, lower) => {
    const m = new RegExp(`^${prefix}(\\d+)$`).exec(lower);
    if (!m) throw problem(`'${_text}' is not ${what}`);
    const v = Number(m[1]);
    if (!Number.isSafeInteger(v) || v < min || v > max) throw problem(`${what} ${m[1]} is out of range ${min}..${max}`);
    return v;
  };
}

const writeIf = (cond: boolean, token: string): string[] => (cond ? [token] : []);

/** The model token and the dataset are positional (everything before the dataset word is Model[_tag]); the rest is TOKENS. */
export const HEAD = {
  syntax: '[Model[-tag|_tag]_]Dataset_',
  rows: [
    { syntax: 'Model', meaning: 'backbone, as the model registry names it (default DenseNet121)', example: 'DenseNet121' },
    { syntax: '-tag, _tag', meaning: 'a free label of the run, kept in the name', example: 'Xception-2, DenseNet121_run2' },
    { syntax: 'Dataset', meaning: 'chexpert or chestxray14 (chestxray), any case', example: 'Chexpert' },
  ],
};

export const TOKENS: readonly TokenRule[] = [
  {
    field: 'loss',
    syntax: 'Loss',
    meaning: `loss: ${LOSSES.join(', ')}`,
    example: 'CWBCE',
    expect: `a loss: ${LOSSES.join(', ')}`,
    required: true,
    match: (t) => lossOf(t) !== undefined,
    read: (t) => lossOf(t),
    write: (b) => [b.loss],
  },
  {
    field: 'classWeightNorm',
    syntax: 'L1Normed|NoNorm',
    meaning: 'class weights L1-normalised ×10 (default) or raw',
    example: 'NoNorm',
    expect: '_L1Normed or _NoNorm',
    match: (t) => t === 'l1normed' || t === 'nonorm',
    read: (_t, t) => (t === 'l1normed' ? 'l1' : 'none'),
    write: (b, full) => writeIf(full || b.classWeightNorm !== DEFAULTS.classWeightNorm, b.classWeightNorm === 'l1' ? 'L1Normed' : 'NoNorm'),
  },
  {
    field: 'epochs',
    syntax: 'E<epochs>',
    meaning: 'epochs',
    example: 'E3',
    expect: 'the number of epochs (_E<n>)',
    required: true,
    match: (t) => /^e\d+$/.test(t),
    read: intToken('e', 'the number of epochs', 1, 100000),
    write: (b) => [`E${b.epochs}`],
  },
  {
    field: 'batchSize',
    syntax: 'B<batch>',
    meaning: 'batch size',
    example: 'B32',
    expect: 'the batch size (_B<n>)',
    required: true,
    match: (t) => /^b\d+$/.test(t),
    read: intToken('b', 'the batch size', 1, 65536),
    write: (b) => [`B${b.batchSize}`],
  },
  {
    field: 'crop',
    syntax: 'C0|C1',
    meaning: 'lung-field crop of frontal views (C1) or none (default)',
    example: 'C1',
    expect: '_C0 (no crop) or _C1 (lung-field crop)',
    match: (t) => /^c\d+$/.test(t),
    read: (text, t) => {
      if (t !== 'c0' && t !== 'c1') throw problem(`crop '${text}' is neither C0 nor C1`);
      return t === 'c1';
    },
    write: (b, full) => writeIf(full || b.crop !== DEFAULTS.crop, b.crop ? 'C1' : 'C0'),
  },
  {
    field: 'classes',
    syntax: CLASS_SETS.join('|'),
    meaning: 'class set (default N14; a list of classes goes in --classes or the config)',
    example: 'N5',
    expect: `a class set: ${CLASS_SETS.join(', ')}`,
    match: (t) => /^n\d+$/.test(t),
    read: (text) => {
      const set = classSetOf(text);
      if (!set) throw problem(`'${text}' is not a class set (one of ${CLASS_SETS.join(', ')}; a custom class list goes in the config or --classes)`);
      return set;
    },
    write: (b, full) => (typeof b.classes === 'string' ? writeIf(full || b.classes !== DEFAULTS.classes, b.classes) : [`N${b.classes.length}`]),
  },
  {
    field: 'augmentation',
    syntax: 'Aug{Affine|Flip|Color|Crop}…|NoAug',
    meaning: 'training augmentations, joined (AugAffineColor), or none (default)',
    example: 'AugAffine',
    expect: '_AugAffine, _AugColor, _AugAffineColor (any of Affine, Flip, Color, Crop) or _NoAug',
    match: (t) => t.startsWith('aug') || t === 'noaug',
    read: (t) => parseAugmentations(t),
    write: (b, full) => (b.augmentation.length || full ? [augmentationToken(b.augmentation)] : []),
  },
  {
    field: 'transforms',
    syntax: 'sharp<r><a>|gb[<sigma>]|hist',
    meaning: 'intensity transforms, in pipeline order, one token each: unsharp mask, Gaussian blur, histogram equalisation',
    example: 'sharp21_hist',
    expect: 'a transform (_sharp<radius><amount> as _sharp21, _gb or _gb<sigma>, _hist)',
    repeats: true,
    match: (t) => isTransformToken(t),
    read: (t) => parseTransform(t),
    write: (b) => b.transforms.map(transformToken),
  },
  {
    field: 'uncertainty',
    syntax: 'U{ignore|zeroes|ones|LSRones|LSRzeroes|<z><o>}',
    meaning: 'uncertain labels: masked (default), 0, 1, label smoothing, or the first z classes 0 and the last o 1 (U75, U104; U<z>-<o> where digits split two ways)',
    example: 'U75',
    expect: '_Uignore, _Uones, _Uzeroes, _U<zeros><ones> (as U75), _ULSRones or _ULSRzeroes',
    match: (t) => isUncertaintyToken(t),
    // Read at the end of the name, against the number of classes it selects (see parseName).
    read: (text) => {
      if (/^ulists$/i.test(text)) throw problem('per-class uncertainty lists are not written in names: give them with --uncertainty or in the config');
      return text;
    },
    write: (b, full) => (full || b.uncertainty.kind !== DEFAULTS.uncertainty.kind ? [uncertaintyToken(b.uncertainty, classCount(b.classes)) ?? 'Ulists'] : []),
  },
  {
    field: 'blankPolicy',
    syntax: 'BlankZero|BlankMask',
    meaning: 'blank (not mentioned) cells: 0 (default) or masked',
    example: 'BlankMask',
    expect: '_BlankZero or _BlankMask',
    match: (t) => t.startsWith('blank'),
    read: (t) => parseBlankPolicy(t),
    write: (b, full) => writeIf(full || b.blankPolicy !== DEFAULTS.blankPolicy, b.blankPolicy === 'mask' ? 'BlankMask' : 'BlankZero'),
  },
  {
    field: 'dim',
    syntax: 'D<dim>',
    meaning: 'image side in pixels (default 256)',
    example: 'D224',
    expect: '_D<dim> (as D256)',
    match: (t) => /^d\d+$/.test(t),
    read: intToken('d', 'the image side', 16, 4096),
    write: (b, full) => writeIf(full || b.dim !== DEFAULTS.dim, `D${b.dim}`),
  },
  {
    field: 'split',
    syntax: 'DS<train%><val%>',
    meaning: 'train/val split of the training table by patient (default DS8020)',
    example: 'DS9505',
    expect: '_DS<train%><val%> (as DS9505)',
    match: (t) => /^ds\d*$/.test(t),
    read: (_text, t) => {
      const r = readSplitToken(t);
      if (typeof r === 'string') throw problem(r);
      return r;
    },
    write: (b, full) => writeIf(full || b.split.val !== DEFAULTS.split.val, `DS${pct(b.split.train)}${pct(b.split.val)}`),
  },
  {
    field: 'fold',
    syntax: 'Fold<k>of<K>',
    meaning: 'fold k of a K-fold split by patient, stratified over the classes, in place of DS (train --folds K trains them all)',
    example: 'Fold2of5',
    expect: '_Fold<k>of<K> (as Fold2of5)',
    match: (t) => t.startsWith('fold'),
    read: (_text, t) => {
      const r = readFoldToken(t);
      if (typeof r === 'string') throw problem(r);
      return r;
    },
    write: (b) => (b.fold ? [`Fold${b.fold.index}of${b.fold.of}`] : []),
  },
  {
    field: 'learningRate',
    syntax: '[<m>]LR<k>',
    meaning: 'learning rate m·10^-k (2LR1 = 0.2, 1LR4 = 1e-4; LR1 = 0.1; default 1e-3)',
    example: '1LR4',
    expect: '_<m>LR<k> (learning rate m·10^-k, as 1LR4 = 1e-4)',
    match: (t) => /^\d*lr\d*$/.test(t),
    read: (text) => {
      const r = readLearningRate(text);
      if (typeof r === 'string') throw problem(r);
      if (!(r > 0) || !Number.isFinite(r)) throw problem('the learning rate must be above 0');
      return r;
    },
    write: (b, full) => writeIf(full || b.learningRate !== DEFAULTS.learningRate, lrToken(b.learningRate)!),
  },
  {
    field: 'lrFactor',
    syntax: 'LF<x>',
    meaning: 'per-epoch learning-rate factor 0.x (LF5 = 0.5; default 1, constant)',
    example: 'LF5',
    expect: '_LF<x> (per-epoch LR factor 0.x, as LF5 = 0.5)',
    match: (t) => /^lf\d*$/.test(t),
    read: (_text, t) => {
      const m = /^lf(\d+)$/.exec(t);
      if (!m || /^0+$/.test(m[1]!)) throw problem('the LR factor needs the digits after "0.", as LF5 = 0.5');
      return Number(`0.${m[1]}`);
    },
    write: (b) => writeIf(b.lrFactor !== 1, `LF${String(b.lrFactor).slice(2)}`),
  },
  {
    field: 'optimizer',
    syntax: 'SGD|Adam|RMSprop',
    meaning: 'optimizer: SGD with momentum 0.9, Adam (default) or RMSprop, Keras defaults',
    example: 'SGD',
    expect: `an optimizer: ${OPTIMIZERS.map(optimizerToken).join(', ')}`,
    match: (t) => optimizerOf(t) !== undefined,
    read: (t) => optimizerOf(t),
    write: (b, full) => writeIf(full || b.optimizer !== DEFAULTS.optimizer, optimizerToken(b.optimizer)),
  },
  {
    field: 'upsample',
    syntax: 'Upsampled',
    meaning: 'upsample rare positives in the training split',
    example: 'Upsampled',
    expect: '_Upsampled',
    match: (t) => t === 'upsampled',
    read: () => true,
    write: (b) => writeIf(b.upsample, 'Upsampled'),
  },
  {
    field: 'seed',
    syntax: 'Seed<n>',
    meaning: 'the seed of every random draw (default 6122156, the reference split seed)',
    example: 'Seed42',
    expect: '_Seed<n>',
    match: (t) => t.startsWith('seed'),
    read: (_text, t) => {
      const m = /^seed(\d+)$/.exec(t);
      if (!m || !Number.isSafeInteger(Number(m[1]))) throw problem('the seed needs digits, as Seed42');
      return Number(m[1]);
    },
    write: (b, full) => writeIf(full || b.seed !== DEFAULTS.seed, `Seed${b.seed}`),
  },
  {
    field: 'engine',
    syntax: ENGINES.join('|'),
    meaning: 'the engine (default auto: the fastest present)',
    example: 'wasm',
    expect: `an engine (${ENGINES.join(', ')})`,
    match: (t) => (ENGINES as readonly string[]).includes(t),
    read: (_text, t) => t as EngineRequest,
    write: (b) => writeIf(b.engine !== 'auto', b.engine),
  },
  {
    field: 'repeat',
    syntax: '<n>',
    meaning: 'repeat index of one configuration (2 and up: initial weights, data order and augmentation drawn anew; the same split)',
    example: '1',
    expect: 'a repeat index _<n>',
    match: (t) => /^\d+$/.test(t),
    read: (_text, t) => {
      if (!Number.isSafeInteger(Number(t))) throw problem('repeat index too large');
      return Number(t);
    },
    write: (b) => (b.repeat === null ? [] : [String(b.repeat)]),
  },
];

