/**
 * The registry: every model builds at its minimum input size with Keras's parameter counts, with the
 * top or either pooling; names are case-insensitive; unknown names and too-small inputs are errors;
 * `npm run models -- --json` lists them all.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { buildBackbone, getModelSpec, MODELS, modelNames } from '../../src/models/registry.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

/**
 * Parameter counts without the top: keras.applications' (Keras 3.15, `include_top=False`); for
 * DenseNetMini, torchvision's DenseNet(growth_rate=32, block_config=(2, 2, 2, 2), num_init_features=64)
 * features, parameters plus batch-norm statistics as Keras counts them.
 */
const PARAMS: Record<string, number> = {
  DenseNet121: 7_037_504,
  DenseNet169: 12_642_880,
  DenseNet201: 18_321_984,
  ResNet50V2: 23_564_800,
  ResNet101V2: 42_626_560,
  ResNet152V2: 58_331_648,
  ResNet50: 23_587_712,
  InceptionV3: 21_802_784,
  InceptionResNetV2: 54_336_736,
  Xception: 20_861_480,
  MobileNetV2: 2_257_984,
  EfficientNetB0: 4_049_571,
  DenseNetMini: 419_776,
};
/** Channels of the last feature map. */
const FEATURES: Record<string, number> = {
  DenseNet121: 1024, DenseNet169: 1664, DenseNet201: 1920, ResNet50V2: 2048, ResNet101V2: 2048, ResNet152V2: 2048,
  ResNet50: 2048, InceptionV3: 2048, InceptionResNetV2: 1536, Xception: 2048, MobileNetV2: 1280, EfficientNetB0: 1280, DenseNetMini: 128,
};

beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
});

describe('model registry', () => {
  it('registers the Keras families and DenseNetMini with their preprocessing', () => {
    expect(modelNames()).toEqual(Object.keys(PARAMS));
    const modes = Object.fromEntries(MODELS.map((m) => [m.name, m.preprocessing]));
    expect(modes).toMatchObject({ DenseNet121: 'torch', ResNet50V2: 'tf', ResNet50: 'caffe', InceptionV3: 'tf', InceptionResNetV2: 'tf', Xception: 'tf', MobileNetV2: 'tf', EfficientNetB0: 'none' });
  });

  it('reads names case-insensitively, with - _ or spaces, and lists the known ones for an unknown name', () => {
    for (const n of ['densenet121', 'DENSENET121', 'DenseNet-121', 'dense_net 121']) expect(getModelSpec(n).name).toBe('DenseNet121');
    expect(getModelSpec('resnet50_v2').name).toBe('ResNet50V2');
    expect(getModelSpec('inception_resnet_v2').name).toBe('InceptionResNetV2');
    const e = (() => {
      try {
        getModelSpec('VGG16');
      } catch (x) {
        return x as MedtrainError;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(MedtrainError);
    expect(e!.code).toBe('unknown-model');
    expect(e!.message).toContain(modelNames().join(', '));
  });

  for (const spec of MODELS) {
    it(`${spec.name}: builds at ${spec.minInputSize} px with the reference's ${PARAMS[spec.name]!.toLocaleString('en-US')} parameters; avg and max pooling`, () => {
      const before = tf.memory().numTensors;
      const plain = buildBackbone(spec.name, { inputSize: spec.minInputSize });
      expect(plain.countParams()).toBe(PARAMS[spec.name]);
      expect(plain.outputs[0]!.shape.length).toBe(4);
      expect(plain.outputs[0]!.shape[3]).toBe(FEATURES[spec.name]);
      plain.dispose();
      for (const pooling of ['avg', 'max'] as const) {
        const m = buildBackbone(spec.name, { inputSize: spec.minInputSize, pooling });
        expect(m.outputs[0]!.shape).toEqual([null, FEATURES[spec.name]]);
        m.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
      expect(() => buildBackbone(spec.name, { inputSize: spec.minInputSize - 1 })).toThrow(/at least/);
    });
  }

  it("includeTop adds Keras's ImageNet classifier ('predictions', softmax over 1000 classes)", () => {
    const m = buildBackbone('DenseNet121', { inputSize: 32, includeTop: true, rng: new Rng(1) });
    expect(m.countParams()).toBe(PARAMS.DenseNet121! + 1024 * 1000 + 1000);
    expect(m.layers.slice(-2).map((l) => l.name)).toEqual(['avg_pool', 'predictions']);
    const p = tf.tidy(() => (m.predict(tf.ones([2, 32, 32, 3])) as tf.Tensor).sum(1));
    expect(Array.from(p.dataSync()).map((v) => Math.round(v * 1e4) / 1e4)).toEqual([1, 1]);
    p.dispose();
    m.dispose();
  });
});

describe('npm run models', () => {
  it('--json prints one object listing every model with its parameters, input size and preprocessing', () => {
    const r = spawnSync('npx', ['tsx', 'scripts/models.ts', '--json'], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'silent' } });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { models: { name: string; params: number; inputSize: number; preprocessing: string }[] };
    expect(out.models.map((m) => [m.name, m.params])).toEqual(Object.entries(PARAMS));
    expect(out.models[0]).toMatchObject({ name: 'DenseNet121', params: 7037504, inputSize: 224, preprocessing: 'torch' });
    expect(out.models.find((m) => m.name === 'InceptionV3')).toMatchObject({ inputSize: 299, preprocessing: 'tf' });
  });
});
