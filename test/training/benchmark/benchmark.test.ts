import { classSetNames } from '../../../src/data/labels/classes.js';
import { describe, expect, it } from 'vitest';
import { Benchmark } from '../../../src/training/benchmark/benchmark.js';
import { DEFAULTS, lrToken, type BenchmarkFields } from '../../../src/training/benchmark/fields.js';
import { BENCHMARK_FLAGS } from '../../../src/training/benchmark/overrides.js';
import { MedtrainError } from '../../../src/util/errors.js';
import { ENGINE_FLAG, parseCli } from '../../../src/util/cli.js';

const SPEC_EXAMPLES = [
  'chexpert_CWBCE_E3_B32',
  'DenseNet121_Chexpert_CWBCE_L1Normed_E5_B32_C0_N12_AugAffine_sharp21_U75_D256_DS9505_1LR4_LF1_Adam_Upsampled',
  'DenseNet121_Chexpert_BCE_E3_B32_C0_N5_AugAffine_U32_D256_DS9505_2LR1_LF5_SGD_Upsampled',
];

/** Names of the reference codebase's kind (its saved models and configs). */
const REAL_NAMES = [
  'DenseNet121_Chexpert_CWBCE_L1Normed_E3_B32_C0_N12_AugAffine_sharp21_U75_D256_DS9505_2LR4_LF5_Adam_Upsampled',
  'DenseNet121_Chexpert_CWBCE_L1Normed_E3_B32_C0_N12_AugAffineColor_sharp21_U75_D256_DS9505_5LR1_LF1_SGD_Upsampled',
  'DenseNet121_Chexpert_BCE_E3_B32_C0_N12_Uones_D256_DS9505_2LR1_LF5_SGD_Upsampled_1',
  'DenseNet121_Chexpert_BCE_E3_B32_C0_N12_AugAffine_Uones_D256_DS9505_2LR1_LF5_SGD_Upsampled_1',
  'DenseNet121_Chexpert_WBCE_E3_B32_C0_N12_AugAffine_U75_D256_DS9505_1LR1_LF5_SGD_Upsampled',
  'DenseNet121_Chexpert_BCE_E3_B32_C0_N12_AugAffine_U66_D256_DS9505_2LR1_LF5_SGD_Upsampled_1',
  'Chexpert_BCE_E3_B16_C0',
  'Chexpert_WBCE_E20_B64_C1_N14',
  'Chestxray_BCE_E5_B32_C0',
  'Chestxray_CWBCE_E12_B16_C1_N14',
  'DenseNet121_run_Chexpert_BCE_E3_B32_C0_N12_Uzeroes_D256_DS9505_1LR4_LF5_Adam',
  'InceptionV3_Chexpert_CWBCE_NoNorm_E50_B32_C0_N5_NoAug_gb_hist_U32_D299_DS9010_1LR3_RMSprop',
];

function parseOk(name: string): Benchmark {
  return Benchmark.parse(name);
}

function parseErr(name: string): MedtrainError {
  try {
    Benchmark.parse(name);
  } catch (e) {
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  }
  throw new Error(`'${name}' parsed`);
}

describe('Benchmark.parse', () => {
  it('reads the README main command with every default', () => {
    const b = parseOk('chexpert_CWBCE_E3_B32');
    expect({ ...b.toJSON(), name: undefined }).toEqual({
      name: undefined,
      model: 'DenseNet121',
      dataset: 'chexpert',
      classes: [...classSetNames('chexpert', 'N14')],
      loss: 'CWBCE',
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
      fold: null,
      learningRate: 1e-3,
      lrFactor: 1,
      optimizer: 'adam',
      upsample: false,
      seed: 6122156,
      engine: 'auto',
      modelTag: null,
      repeat: null,
      classSet: 'N14',
    });
  });

  it('reads the second SPEC example field by field', () => {
    const b = parseOk(SPEC_EXAMPLES[1]!);
    expect(b.model).toBe('DenseNet121');
    expect(b.dataset).toBe('chexpert');
    expect(b.loss).toBe('CWBCE');
    expect(b.classWeightNorm).toBe('l1');
    expect([b.epochs, b.batchSize, b.crop]).toEqual([5, 32, false]);
    expect(b.classes).toBe('N12');
    expect(b.augmentation).toEqual(['affine']);
    expect(b.transforms).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }]);
    expect(b.uncertainty).toEqual({ kind: 'mixed', zeros: 7, ones: 5 });
    expect(b.dim).toBe(256);
    expect(b.split).toEqual({ train: 0.95, val: 0.05 });
    expect(b.learningRate).toBe(1e-4);
    expect(b.lrFactor).toBe(0.1);
    expect(b.optimizer).toBe('adam');
    expect(b.upsample).toBe(true);
  });

  it('reads the third SPEC example field by field', () => {
    const b = parseOk(SPEC_EXAMPLES[2]!);
    expect([b.loss, b.epochs, b.batchSize, b.classes]).toEqual(['BCE', 3, 32, 'N5']);
    expect(b.uncertainty).toEqual({ kind: 'mixed', zeros: 3, ones: 2 });
    expect([b.learningRate, b.lrFactor, b.optimizer, b.upsample]).toEqual([0.2, 0.5, 'sgd', true]);
    expect(b.split.val).toBe(0.05);
  });

  it('reads every real name and the extension tokens', () => {
    for (const n of [...SPEC_EXAMPLES, ...REAL_NAMES]) expect(() => parseOk(n), n).not.toThrow();
    expect(parseOk(REAL_NAMES[2]!).repeat).toBe(1);
    expect(parseOk(REAL_NAMES[2]!).uncertainty).toEqual({ kind: 'ones' });
    expect(parseOk(REAL_NAMES[1]!).augmentation).toEqual(['affine', 'color']);
    expect(parseOk(REAL_NAMES[1]!).learningRate).toBe(0.5);
    expect(parseOk(REAL_NAMES[7]!).crop).toBe(true);
    expect(parseOk(REAL_NAMES[8]!).dataset).toBe('chestxray14');
    const tagged = parseOk(REAL_NAMES[10]!);
    expect([tagged.model, tagged.modelTag, tagged.uncertainty.kind]).toEqual(['DenseNet121', 'run', 'zeros']);
    const inc = parseOk(REAL_NAMES[11]!);
    expect([inc.model, inc.classWeightNorm, inc.dim, inc.optimizer, inc.learningRate]).toEqual(['InceptionV3', 'none', 299, 'rmsprop', 1e-3]);
    expect(inc.transforms).toEqual([{ kind: 'blur', sigma: 1 }, { kind: 'hist' }]);
    expect(inc.split).toEqual({ train: 0.9, val: 0.1 });
    const ext = parseOk('ResNet50V2_v2_b_chestxray14_Focal_E1_B8_N5_AugColor_hist_sharp35_ULSRones_BlankMask_D128_DS7030_25LR5_LF05_SGD_Upsampled_Seed42_wasm_3');
    expect(ext.modelTag).toBe('v2_b');
    expect(ext.loss).toBe('Focal');
    expect(ext.transforms).toEqual([{ kind: 'hist' }, { kind: 'sharp', radius: 3, amount: 5 }]);
    expect([ext.uncertainty.kind, ext.blankPolicy, ext.dim, ext.learningRate, ext.lrFactor, ext.seed, ext.engine, ext.repeat]).toEqual(['lsr-ones', 'mask', 128, 0.00025, 0.05, 42, 'wasm', 3]);
    expect(parseOk('chexpert_BCE_E1_B1_Uignore').uncertainty).toEqual({ kind: 'ignore' });
    expect(parseOk('chexpert_BCE_E1_B1_ULSRzeroes').uncertainty).toEqual({ kind: 'lsr-zeros' });
    expect(parseOk('chexpert_BCE_E1_B1_NoAug').augmentation).toEqual([]);
    const fold = parseOk('DenseNetMini_chexpert_BCE_E1_B16_N5_D32_fold2OF5');
    expect([fold.fold, fold.format()]).toEqual([{ index: 2, of: 5 }, 'DenseNetMini_chexpert_BCE_E1_B16_N5_D32_Fold2of5']);
    expect(fold.dataOptions().fold).toEqual({ index: 2, of: 5 });
    expect(() => parseOk('chexpert_BCE_E1_B1_DS9505_Fold2of5')).toThrow(/a fold's val split is the fold/);
  });

  it('is case-insensitive in its keywords (dataset, encodings and the rest)', () => {
    const a = parseOk('densenet121_CHEXPERT_cwbce_l1normed_e5_b32_c0_n12_augaffine_SHARP21_u75_d256_ds9505_1lr4_lf1_ADAM_upsampled');
    expect(a.equals(parseOk(SPEC_EXAMPLES[1]!))).toBe(true);
    expect(parseOk('CheXpert_BCE_E1_B2_UONES').uncertainty.kind).toBe('ones');
    expect(parseOk('chexpert_BCE_E1_B2_UZeroes').uncertainty.kind).toBe('zeros');
    expect(parseOk('CHESTXRAY_bce_E1_B2').dataset).toBe('chestxray14');
    expect(parseOk('ChestXray14_BCE_E1_B2').dataset).toBe('chestxray14');
  });

  it('round-trips: parse(format(b)) equals b, and format(parse(n)) is canonical and stable', () => {
    for (const n of [...SPEC_EXAMPLES, ...REAL_NAMES]) {
      const b = parseOk(n);
      const canon = b.format();
      expect(Benchmark.parse(canon).equals(b), n).toBe(true);
      expect(Benchmark.parse(b.format({ full: true })).equals(b), n).toBe(true);
      expect(Benchmark.parse(canon).format()).toBe(canon);
      expect(b.name).toBe(canon);
    }
    expect(parseOk('chexpert_CWBCE_E3_B32').format()).toBe('chexpert_CWBCE_E3_B32');
    expect(parseOk(SPEC_EXAMPLES[1]!).format()).toBe('chexpert_CWBCE_E5_B32_N12_AugAffine_sharp21_U75_DS9505_1LR4_LF1_Upsampled');
    expect(parseOk(SPEC_EXAMPLES[2]!).format({ full: true })).toBe(
      'DenseNet121_chexpert_BCE_L1Normed_E3_B32_C0_N5_AugAffine_U32_BlankZero_D256_DS9505_2LR1_LF5_SGD_Upsampled_Seed6122156',
    );
    // Non-canonical spellings format alike.
    expect(parseOk('chexpert_BCE_E03_B032_DS9505_10LR5_LF50').format()).toBe('chexpert_BCE_E3_B32_DS9505_1LR4_LF5');
    expect(parseOk('chexpert_BCE_E3_B32_10LR4').format()).toBe('chexpert_BCE_E3_B32');
    // Every field through a name and back: JSON too.
    for (const n of REAL_NAMES) {
      const b = parseOk(n);
      expect(Benchmark.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))).equals(b)).toBe(true);
    }
  });

  it('round-trips benchmarks built from random field values', () => {
    let seed = 12345;
    const pick = <T>(xs: readonly T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2147483648) % xs.length]!;
    for (let i = 0; i < 300; i++) {
      const classes = pick(['N5', 'N12', 'N14'] as const);
      const n = Number(classes.slice(1));
      const z = pick([0, 1, 2, 3, 4, 5].filter((k) => n - k <= 9));
      const f: Partial<BenchmarkFields> = {
        model: pick(['DenseNet121', 'ResNet50V2', 'Xception']),
        modelTag: pick([null, null, 'run', 'run2', 'a-b']),
        dataset: pick(['chexpert', 'chestxray14'] as const),
        classes,
        loss: pick(['BCE', 'WBCE', 'CWBCE', 'Focal'] as const),
        classWeightNorm: pick(['l1', 'none'] as const),
        epochs: pick([1, 3, 50]),
        batchSize: pick([1, 16, 32, 128]),
        crop: pick([true, false]),
        augmentation: pick([[], ['affine'], ['color'], ['affine', 'color']] as const),
        transforms: pick([[], [{ kind: 'sharp', radius: 2, amount: 1 }], [{ kind: 'hist' }, { kind: 'blur', sigma: 1 }], [{ kind: 'blur', sigma: 2 }]] as const),
        uncertainty: pick([{ kind: 'ignore' }, { kind: 'ones' }, { kind: 'zeros' }, { kind: 'lsr-ones' }, { kind: 'mixed', zeros: z, ones: n - z }] as const),
        blankPolicy: pick(['zero', 'mask'] as const),
        dim: pick([64, 224, 256, 320]),
        split: pick([{ train: 0.8, val: 0.2 }, { train: 0.95, val: 0.05 }, { train: 0.99, val: 0.01 }]),
        learningRate: pick([1e-3, 1e-4, 0.2, 3e-5, 0.00025, 1]),
        lrFactor: pick([1, 0.5, 0.1, 0.05, 0.25]),
        optimizer: pick(['sgd', 'adam', 'rmsprop'] as const),
        upsample: pick([true, false]),
        seed: pick([0, 42, 6122156]),
        engine: pick(['auto', 'cpu', 'wasm', 'webgpu', 'tensorflow'] as const),
        repeat: pick([null, 0, 1, 12]),
      };
      if (f.split!.val === 0.2) f.fold = pick([null, { index: 1, of: 5 }, { index: 3, of: 3 }]);
      const b = new Benchmark(f);
      const again = Benchmark.parse(b.format());
      expect(again.equals(b), b.format()).toBe(true);
      expect(Benchmark.parse(b.format({ full: true })).equals(b)).toBe(true);
      expect(Benchmark.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))).equals(b)).toBe(true);
    }
  });

  it('writes learning rates as m·LR·k exactly', () => {
    expect([0.2, 1e-4, 1e-3, 0.5, 3e-4, 0.00025, 1, 10, 1.5].map(lrToken)).toEqual(['2LR1', '1LR4', '1LR3', '5LR1', '3LR4', '25LR5', '1LR0', '10LR0', '15LR1']);
    expect(lrToken(1 / 3)).toBeNull();
  });
});

describe('unreadable names point at the token', () => {
  const cases: [string, string, RegExp][] = [
    ['DenseNet121_Chexpert_CWBCE_E5_B32_Augaffin', 'Augaffin', /unknown augmentation.*expected _AugAffine/],
    ['chexpert_CWBCE_E3_B32_U75_AugAffine', 'AugAffine', /out of order \(it belongs before 'U75'\)/],
    ['chexpert_CWBCE_E3_B32_N5_U75', 'U75', /U75 does not split into zeros \+ ones = 5 classes/],
    ['chexpert_CWBCE_E3_B32_N12_U111', 'U111', /U111 is ambiguous for 12 classes \(U1-11 or U11-1\)/],
    ['chexpert_CWBCE_E3', '', /ends before the batch size/],
    ['Densenet12_chexpert_BCE_E3_B2', 'Densenet12', /unknown model 'Densenet12'.*expected a model \(DenseNet121/],
    ['chexpret_CWBCE_E3_B32', 'chexpret', /no dataset.*expected a dataset: chexpert or chestxray14/],
    ['DenseNet121_chexpret_CWBCE_E3_B32', 'chexpret', /no dataset/],
    ['chexpert_CWBCE_E3_B32_Adam_Adam', 'Adam', /repeats 'Adam'/],
    ['chexpert__BCE_E3_B32', '_', /empty token/],
    ['chexpert_CWBCE_E3_B32_', '_', /empty token/],
    ['chexpert_XE_E3_B32', 'XE', /unknown loss 'XE'.*expected a loss: BCE, WBCE, CWBCE, Focal/],
    ['chexpert_BCE_B32_E3', 'B32', /'B32' is not the number of epochs/],
    ['chexpert_BCE_E0_B32', 'E0', /out of range 1\.\.100000/],
    ['chexpert_BCE_E3_B32_C2', 'C2', /neither C0 nor C1/],
    ['chexpert_BCE_E3_B32_N7', 'N7', /not a class set.*N5, N12, N14/],
    ['chexpert_BCE_E3_B32_U7', 'U7', /U7 does not split into zeros \+ ones = 14 classes/],
    ['chexpert_BCE_E3_B32_U7-5', 'U7-5', /maps 12 classes, but there are 14/],
    ['chexpert_BCE_E3_B32_Ulists', 'Ulists', /per-class uncertainty lists are not written in names/],
    ['chexpert_BCE_E3_B32_Umaybe', 'Umaybe', /unknown uncertainty encoding/],
    ['chexpert_BCE_E3_B32_DS9510', 'DS9510', /must be 100/],
    ['chexpert_BCE_E3_B32_DS95', 'DS95', /four digits/],
    ['chexpert_BCE_E3_B32_LR', 'LR', /exponent digits after LR/],
    ['chexpert_BCE_E3_B32_Blankish', 'Blankish', /unknown blank policy/],
    ['chexpert_BCE_E3_B32_gb0', 'gb0', /blur sigma must be above 0/],
    ['Xception-x_chexpret_BCE_E3_B32', 'chexpret', /no dataset/],
    ['Xceptio-2_chexpert_BCE_E3_B32', 'Xceptio-2', /unknown model 'Xceptio-2'/],
    ['chexpert_BCE_E3_B32_LF0', 'LF0', /LR factor/],
    ['chexpert_BCE_E3_B32_sharp2', 'sharp2', /sharp needs a radius digit and an amount/],
    ['chexpert_BCE_E3_B32_Upsampled_AugAffine', 'AugAffine', /out of order/],
    ['chexpert_BCE_E3_B32_Upsampled_N5', 'N5', /out of order \(it belongs before 'Upsampled'\)/],
    ['chexpert_BCE_E3_B32_Foo', 'Foo', /cannot read 'Foo'/],
    ['chexpert_BCE_E3_B32_D8', 'D8', /out of range 16\.\.4096/],
    ['chexpert_BCE_E3_B32_1_Adam', 'Adam', /out of order/],
    ['chexpert_BCE_E3_B32_sharp21_sharp31', 'sharp31', /transform named twice/],
    ['chexpert_BCE_E3_B32_AugAffineAffine', 'AugAffineAffine', /augmentation named twice/],
    ['chexpert_BCE_E3_B32_Seedx', 'Seedx', /seed needs digits/],
    ['chexpert_BCE_E3_B32_Fold6of5', 'Fold6of5', /fold 6 of 5 is out of range/],
    ['chexpert_BCE_E3_B32_Fold2', 'Fold2', /written Fold<k>of<K>/],
    ['chexpert BCE', 'chexpert BCE', /characters other than/],
    ['', '', /empty/],
  ];
  it.each(cases)('%s → at %j', (name, token, message) => {
    const e = parseErr(name);
    expect(e.code).toMatch(/bad-benchmark-name|unknown-model/);
    expect(e.value).toBe(token);
    expect(e.message).toMatch(message);
    if (token && token !== '_') expect(e.column).toBe(name.lastIndexOf(token) + 1);
    // The message shows the name, and a caret line under the token.
    if (name) {
      const lines = e.message.split('\n');
      expect(lines[1]).toBe(`    ${name}`);
      expect(lines[2]!.indexOf('^') - 4).toBe(Number(e.column) - 1);
    }
  });

  it('takes the known models from the registry, or from a list when given', () => {
    expect(Benchmark.parse('MobileNetV2_chexpert_BCE_E1_B2').model).toBe('MobileNetV2');
    expect(Benchmark.parse('densenetmini_chexpert_BCE_E1_B2').model).toBe('DenseNetMini');
    expect(() => Benchmark.parse('MobileNetV2_chexpert_BCE_E1_B2', { models: ['DenseNet121'] })).toThrow(/unknown model/);
    expect(Benchmark.create({ model: 'mobilenetv2' }, { models: ['MobileNetV2'] }).model).toBe('MobileNetV2');
  });
});

describe('Benchmark.withOverrides (CLI flags)', () => {
  const base = Benchmark.parse('chexpert_CWBCE_E3_B32');

  it('overrides any field from flag strings, checked', () => {
    const b = base.withOverrides({
      model: 'resnet50v2',
      'model-tag': 'run2',
      dataset: 'ChestXray14',
      classes: 'n5',
      loss: 'wbce',
      'class-weight-norm': 'none',
      epochs: '7',
      'batch-size': '16',
      crop: 'true',
      augmentation: 'affine,color',
      transforms: 'sharp21,hist',
      uncertainty: 'U32',
      'blank-policy': 'mask',
      dim: '224',
      split: '0.95/0.05',
      'learning-rate': '1e-4',
      'lr-factor': '0.5',
      optimizer: 'SGD',
      upsample: 'yes',
      seed: '42',
      engine: 'WASM',
      repeat: '2',
    });
    expect(b.format()).toBe('ResNet50V2_run2_chestxray14_WBCE_NoNorm_E7_B16_C1_N5_AugAffineColor_sharp21_hist_U32_BlankMask_D224_DS9505_1LR4_LF5_SGD_Upsampled_Seed42_wasm_2');
    expect(Benchmark.parse(b.format()).equals(b)).toBe(true);
    expect(base.withOverrides({ learningRate: '2LR1', lrFactor: 'LF5', split: 'DS9010', uncertainty: 'zeroes' }).format()).toBe('chexpert_CWBCE_E3_B32_Uzeroes_DS9010_2LR1_LF5');
    expect(base.withOverrides({ split: '0.1' }).split).toEqual({ train: 0.9, val: 0.1 });
    expect(base.withOverrides({ fold: '3/5' }).fold).toEqual({ index: 3, of: 5 });
    expect(() => base.withOverrides({ fold: '3/2' })).toThrow(/--fold.*out of range/);
    expect(base.withOverrides({ classes: 'Atelectasis, Edema' }).classes).toEqual(['Atelectasis', 'Edema']);
    expect(base.withOverrides({ classes: ['Atelectasis', 'Edema'] }).format()).toBe('chexpert_CWBCE_E3_B32_N2');
    expect(base.withOverrides({ epochs: undefined }).equals(base)).toBe(true);
    expect(base.withOverrides({ augmentation: 'none', transforms: 'none', repeat: 'none', modelTag: '' }).equals(base)).toBe(true);
  });

  it('knows which fields the name and the overrides gave (the rest took defaults), without changing identity', () => {
    const b = Benchmark.parse('chexpert_CWBCE_E3_B32');
    expect([...b.given].sort()).toEqual(['batchSize', 'dataset', 'epochs', 'loss']);
    const o = b.withOverrides({ dim: '128' });
    expect(o.given.has('dim')).toBe(true);
    expect(o.given.has('model')).toBe(false);
    const spelled = Benchmark.parse('DenseNet121_chexpert_CWBCE_E3_B32_D256');
    expect(spelled.given.has('model') && spelled.given.has('dim')).toBe(true);
    expect(spelled.equals(b)).toBe(true);
    expect(Benchmark.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))).given.has('model')).toBe(true);
  });

  it('says which flag and value are wrong', () => {
    const bad: [Record<string, unknown>, string, RegExp][] = [
      [{ epochs: 'three' }, '--epochs', /needs an integer/],
      [{ 'batch-size': '0' }, '--batch-size', /from 1 to 65536/],
      [{ optimizer: 'adagrad' }, '--optimizer', /unknown optimizer/],
      [{ crop: 'maybe' }, '--crop', /true or false/],
      [{ split: '0.9/0.2' }, '--split', /add up to 1/],
      [{ 'learning-rate': '-1' }, '--learning-rate', /positive/],
      [{ 'lr-factor': '2' }, '--lr-factor', /\(0, 1\]/],
      [{ uncertainty: 'U75' }, '--uncertainty', /U75 does not split into zeros \+ ones = 14 classes/],
      [{ classes: 'N5', uncertainty: 'U75' }, '--uncertainty', /U75 does not split into zeros \+ ones = 5 classes/],
      [{ classes: 'N5', uncertainty: 'U7-5' }, '--uncertainty', /maps 12 classes, but there are 5/],
      [{ uncertainty: 'sometimes' }, '--uncertainty', /unknown uncertainty encoding/],
      [{ 'blank-policy': 'never' }, '--blank-policy', /unknown blank policy/],
      [{ transforms: 'gb1.5' }, '--transforms', /cannot be written in a benchmark name/],
      [{ dataset: 'mimic' }, '--dataset', /unknown dataset/],
      [{ engine: 'cuda' }, '--engine', /unknown engine/],
      [{ transforms: 'sharpen' }, '--transforms', /sharp needs a radius digit/],
      [{ transforms: 'wobble' }, '--transforms', /unknown intensity transform/],
      [{ transforms: 'sharp2' }, '--transforms', /sharp needs a radius/],
      [{ 'learning-rate': String(1 / 3) }, '--learning-rate', /decimal/],
      [{ augmentation: 'twist' }, '--augmentation', /unknown augmentation/],
      [{ classes: 'a,a' }, '--classes', /twice/],
      [{ batchsize: '3' }, '--batchsize', /unknown benchmark field/],
      [{ model: 'DenseNet12' }, '--model', /unknown model/],
    ];
    for (const [o, flag, msg] of bad) {
      let err: unknown;
      try {
        base.withOverrides(o);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(o)).toBeInstanceOf(MedtrainError);
      expect((err as MedtrainError).column, JSON.stringify(o)).toBe(flag);
      expect((err as MedtrainError).message, JSON.stringify(o)).toMatch(msg);
    }
  });

  it('takes its flags from a script command line', () => {
    const { flags } = parseCli('train', { benchmark: { type: 'string', help: 'name' }, ...ENGINE_FLAG, ...BENCHMARK_FLAGS }, ['--benchmark', 'chexpert_CWBCE_E3_B32', '--epochs', '10', '--optimizer', 'rmsprop', '--engine', 'cpu']);
    const b = Benchmark.parse(flags.benchmark!).withFlags(flags);
    expect(b.format()).toBe('chexpert_CWBCE_E10_B32_RMSprop_cpu');
    expect(Benchmark.create({ epochs: 2 }).format()).toBe('chexpert_BCE_E2_B32');
    expect(new Benchmark().equals(new Benchmark(DEFAULTS))).toBe(true);
  });

  it('reads config.json back and says what is wrong in it', () => {
    const j = base.toJSON();
    expect(Benchmark.fromJSON(j).equals(base)).toBe(true);
    expect(() => Benchmark.fromJSON({ ...j, epochs: 'x' }, 'run/config.json')).toThrow(/run\/config\.json.*bad benchmark config.*needs an integer/s);
    expect(() => Benchmark.fromJSON(null, 'c.json')).toThrow(MedtrainError);
    expect(Benchmark.fromJSON({ ...j, classes: ['A', 'B'], classSet: null }).classes).toEqual(['A', 'B']);
    expect(base.toJSON((_d, set) => (set === 'N14' ? Array.from({ length: 14 }, (_, i) => `c${i}`) : [])).classes).toHaveLength(14);
  });
});
