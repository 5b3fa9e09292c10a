/**
 * createModel: the head, its options and defaults, seeded initialisation, logits, freezing with
 * Keras's BatchNormalization semantics, the warm-up hook, ImageNet weight lookup, no leaked tensors.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { createModel, type Classifier } from '../../src/models/classifier.js';
import { getModelSpec } from '../../src/models/registry.js';
import { findImagenetWeights, weightsDir } from '../../src/models/weights/imagenet.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { sameWeights, snapshot, writeLegacyH5 } from './keras-files.js';

let dir = '';
beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-classifier-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const small = (opts: Partial<Parameters<typeof createModel>[1]> = {}) => createModel('MobileNetV2', { numClasses: 3, inputSize: 32, ...opts });
const input = (n = 2) => tf.randomUniform([n, 32, 32, 3], -1, 1, 'float32', 11);

async function withEnv<T>(name: string, value: string | undefined, fn: () => Promise<T>): Promise<T> {
  const old = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env[name];
    else process.env[name] = old;
  }
}

describe('createModel', () => {
  it("defaults to the reference head: GAP → Dense(1024, relu) → Dense(n) → sigmoid, with the model's preprocessing", async () => {
    const clf = await small();
    const head = clf.headLayers.map((l) => [l.name, l.getClassName()]);
    expect(head).toEqual([
      ['head_pool', 'GlobalAveragePooling2D'],
      ['head_dense', 'Dense'],
      ['head_logits', 'Dense'],
      ['head_output', 'Activation'],
    ]);
    expect(clf.model.getLayer('head_dense').outputShape).toEqual([null, 1024]);
    expect(clf.config).toMatchObject({ model: 'MobileNetV2', numClasses: 3, inputSize: 32, headUnits: 1024, dropout: 0, activation: 'sigmoid', pooling: 'avg', preprocessing: 'tf', weights: 'random' });
    expect(clf.backbone.outputs[0]!.shape).toEqual([null, 1, 1, 1280]);
    expect(clf.countParams()).toEqual({ total: 2257984 + 1280 * 1024 + 1024 + 1024 * 3 + 3, trainable: clf.model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * b!, 1), 0), backbone: 2257984 });
    const x = input();
    const p = clf.model.predict(x) as tf.Tensor;
    const logits = clf.logitsModel.predict(x) as tf.Tensor;
    expect(p.shape).toEqual([2, 3]);
    // The same weights: probabilities are the sigmoid of the logits.
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.sigmoid(logits), p))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([x, p, logits]);
    clf.dispose();
  });

  it('takes headUnits 0, dropout, max pooling and a linear output; names are case-insensitive', async () => {
    const clf = await createModel('mobilenet_v2', { numClasses: 2, inputSize: 32, headUnits: 0, dropout: 0.5, pooling: 'max', activation: 'linear' });
    expect(clf.headLayers.map((l) => l.name)).toEqual(['head_pool', 'head_dropout', 'head_logits']);
    expect(clf.model.getLayer('head_pool').getClassName()).toBe('GlobalMaxPooling2D');
    const x = input();
    // Inference: dropout is off, logits are the output.
    const [a, b] = [clf.model.predict(x) as tf.Tensor, clf.logitsModel.predict(x) as tf.Tensor];
    expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
    // Training: the seeded dropout masks differ from call to call but repeat for the same seed.
    const train = async (c: Classifier) => {
      const outs = [c.model.apply(x, { training: true }) as tf.Tensor, c.model.apply(x, { training: true }) as tf.Tensor];
      const data = await Promise.all(outs.map((o) => o.data()));
      tf.dispose(outs);
      return data.map((d) => Array.from(d));
    };
    const [t1, t2] = await train(clf);
    expect(t1).not.toEqual(t2);
    const twin = await createModel('MobileNetV2', { numClasses: 2, inputSize: 32, headUnits: 0, dropout: 0.5, pooling: 'max', activation: 'linear' });
    expect(await train(twin)).toEqual([t1, t2]);
    tf.dispose([x, a, b]);
    clf.dispose();
    twin.dispose();
  });

  it('is seeded: the same seed builds the same weights, another seed others', async () => {
    const [a, b, c] = [await small({ seed: 7 }), await small({ seed: 7 }), await small({ seed: 8 })];
    expect(sameWeights(snapshot(a.model), snapshot(b.model))).toBe(true);
    expect(sameWeights(snapshot(a.model), snapshot(c.model))).toBe(false);
    const d = await small({ rng: new Rng(7) });
    expect(sameWeights(snapshot(a.model), snapshot(d.model))).toBe(true);
    [a, b, c, d].forEach((m) => m.dispose());
  });

  it('leaves no tensors behind, and none when it fails', async () => {
    const warm = await small();
    warm.dispose();
    const before = tf.memory().numTensors;
    const clf = await small({ headUnits: 16 });
    const x = input();
    tf.dispose([clf.model.predict(x) as tf.Tensor, x]);
    clf.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(small({ weights: join(dir, 'nothing.h5') })).rejects.toThrow(MedtrainError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses bad options and unknown models, saying what would do', async () => {
    const err = async (p: Promise<unknown>) => (await p.catch((e: unknown) => e)) as MedtrainError;
    const unknown = await err(createModel('DenseNet122', { numClasses: 2 }));
    expect(unknown.code).toBe('unknown-model');
    expect(unknown.message).toContain('DenseNet121, DenseNet169, DenseNet201, ResNet50V2');
    expect((await err(small({ numClasses: 0 }))).message).toMatch(/numClasses/);
    expect((await err(small({ dropout: 1 }))).message).toMatch(/dropout/);
    expect((await err(small({ headUnits: -1 }))).message).toMatch(/headUnits/);
    expect((await err(small({ activation: 'relu' as never }))).message).toMatch(/activation/);
    expect((await err(small({ inputSize: 16 }))).message).toMatch(/at least 32 pixels/);
    expect((await err(createModel('InceptionV3', { numClasses: 2, inputSize: 64 }))).message).toMatch(/at least 75 pixels/);
  });
});

describe('freezing and warm-up', () => {
  it("a frozen backbone trains nothing and its BatchNormalization runs in inference mode (Keras's semantics)", async () => {
    const clf = await small({ headUnits: 8, seed: 3 });
    clf.setBackboneTrainable(false);
    expect(clf.backboneTrainable).toBe(false);
    expect(clf.model.trainableWeights.map((w) => w.originalName)).toEqual(['head_dense/kernel', 'head_dense/bias', 'head_logits/kernel', 'head_logits/bias']);
    const x = input(4);
    const backboneBefore = snapshot(clf.backbone);
    // Frozen BN: training-mode features equal inference-mode features, moving statistics unchanged.
    const [ft, fi] = [clf.backbone.apply(x, { training: true }) as tf.Tensor, clf.backbone.predict(x) as tf.Tensor];
    expect(Array.from(await ft.data())).toEqual(Array.from(await fi.data()));
    const headBefore = snapshot(tf.model({ inputs: clf.model.inputs, outputs: clf.model.outputs }));
    const y = tf.tensor2d([1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0], [4, 3]);
    const opt = tf.train.sgd(0.1);
    opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, clf.logitsModel.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, clf.trainableVariables())?.dispose();
    expect(sameWeights(snapshot(clf.backbone), backboneBefore)).toBe(true);
    expect(sameWeights(snapshot(clf.model), headBefore)).toBe(false);
    // Unfrozen: BN in training mode uses batch statistics again.
    clf.setBackboneTrainable(true);
    const ft2 = clf.backbone.apply(x, { training: true }) as tf.Tensor;
    expect(Array.from(await ft2.data())).not.toEqual(Array.from(await fi.data()));
    tf.dispose([x, y, ft, fi, ft2]);
    opt.dispose();
    clf.dispose();
  });

  it('warmupEpochs K: frozen for epochs < K, unfrozen from K, and beginEpoch says when that changes', async () => {
    const clf = await small({ warmupEpochs: 2, headUnits: 8 });
    expect(clf.backboneTrainable).toBe(false);
    expect([0, 1, 2, 3].map((e) => clf.beginEpoch(e))).toEqual([false, false, true, false]);
    expect(clf.backboneTrainable).toBe(true);
    // Resuming at an epoch inside the warm-up freezes again.
    expect(clf.beginEpoch(1)).toBe(true);
    expect(clf.backboneTrainable).toBe(false);
    clf.dispose();
    const none = await small({ headUnits: 8 });
    expect(none.beginEpoch(0)).toBe(false);
    expect(none.backboneTrainable).toBe(true);
    none.dispose();
  });
});

describe("weights: 'imagenet'", () => {
  it('looks in MEDTRAIN_WEIGHTS_DIR and, when the file is missing, names it, the folder and the address, never downloading', async () => {
    const folder = join(dir, 'empty-weights');
    const e = (await withEnv('MEDTRAIN_WEIGHTS_DIR', folder, () => withEnv('KERAS_HOME', join(dir, 'no-keras'), () => small({ weights: 'imagenet' }).catch((x: unknown) => x)))) as MedtrainError;
    expect(e.code).toBe('weights-missing');
    expect(e.message).toContain(`put mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5 in ${folder}`);
    expect(e.hint).toContain('https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5');
    const d121 = (await withEnv('MEDTRAIN_WEIGHTS_DIR', folder, () => findImagenetWeights(getModelSpec('densenet121'), { inputSize: 224 }).catch((x: unknown) => x))) as MedtrainError;
    expect(d121.message).toContain('densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(d121.hint).toContain('https://storage.googleapis.com/tensorflow/keras-applications/densenet/densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5');
    expect(await withEnv('MEDTRAIN_WEIGHTS_DIR', undefined, async () => weightsDir())).toMatch(/medtrain[/\\]weights$/);
  });

  it("loads the file it finds into the backbone (MobileNetV2 at 96 px: Keras's 96 px file), and refuses one whose MD5 is not Keras's", async () => {
    const folder = join(dir, 'weights');
    const src = getModelSpec('MobileNetV2').build({ inputSize: 96, rng: new Rng(9) });
    await writeLegacyH5(src, join(folder, 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5'));
    const clf = await createModel('MobileNetV2', { numClasses: 3, inputSize: 96, weights: 'imagenet', weightsDir: folder });
    expect(clf.weights).toMatchObject({ source: 'imagenet', target: 'backbone', report: { layers: 104 } });
    expect(sameWeights(snapshot(clf.backbone), snapshot(src))).toBe(true);
    clf.dispose();
    src.dispose();
    writeFileSync(join(folder, 'densenet121_weights_tf_dim_ordering_tf_kernels_notop.h5'), 'not the real file');
    const e = (await findImagenetWeights(getModelSpec('DenseNet121'), { inputSize: 224, dir: folder }).catch((x: unknown) => x)) as MedtrainError;
    expect(e.message).toMatch(/damaged or not Keras's \(MD5 [0-9a-f]{32}, Keras publishes 30ee3e1110167f948a6b9946edeeb738\)/);
  });
});
