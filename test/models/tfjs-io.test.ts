/**
 * The tfjs layers format on disk: save → load is exact (weights bit for bit, outputs equal), custom
 * layers come back, extra tensors (optimizer state) and metadata travel with the model, writes are
 * atomic, and damage is detected.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { createModel, loadClassifier } from '../../src/models/classifier.js';
import { LayerBuilder } from '../../src/models/layers.js';
import { fileSystemIO, loadModel, saveModel } from '../../src/models/weights/tfjs-io.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { sameWeights, snapshot } from './keras-files.js';

let dir = '';
beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-tfjs-io-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A small model with every custom layer medtrain registers. */
function customLayersModel(seed: number): tf.LayersModel {
  const L = new LayerBuilder(new Rng(seed));
  const input = L.input(8);
  let x = L.rescaling(input, 1 / 255);
  x = L.normalization(x);
  x = L.rescaling(x, [1, 2, 3]);
  const y = L.conv2d(x, { filters: 3, kernelSize: 3, padding: 'same' });
  x = L.customScale([x, y], 0.17);
  x = L.globalAveragePooling2d(x);
  x = L.dropout(x, 0.3);
  x = L.dense(x, { units: 2 });
  return tf.model({ inputs: input, outputs: x });
}

async function predictions(model: tf.LayersModel, x: tf.Tensor): Promise<Float32Array> {
  const y = model.predict(x) as tf.Tensor;
  const d = (await y.data()) as Float32Array;
  y.dispose();
  return d;
}

describe('tfjs layers format', () => {
  it('save → load is exact, custom layers included, and readable by plain tf.loadLayersModel', async () => {
    const model = customLayersModel(1);
    // Give the non-trainable Normalization statistics values worth checking.
    const norm = model.layers.find((l) => l.getClassName() === 'KerasNormalization')!;
    norm.setWeights([tf.tensor1d([100, 110, 120]), tf.tensor1d([400, 500, 600]), tf.scalar(9)]);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 255, 'float32', 3);
    const out = join(dir, 'custom');
    const info = await saveModel(model, out, { metadata: { note: 'hello' }, shardBytes: 64 });
    expect(info.files.filter((f) => f.startsWith('group1-shard')).length).toBeGreaterThan(1);
    const { model: back, metadata, extraTensors } = await loadModel(out);
    expect(metadata).toEqual({ note: 'hello' });
    expect(extraTensors).toEqual([]);
    expect(back.layers.map((l) => l.getClassName())).toEqual(model.layers.map((l) => l.getClassName()));
    expect(sameWeights(snapshot(back), snapshot(model))).toBe(true);
    expect(await predictions(back, x)).toEqual(await predictions(model, x));
    const plain = await tf.loadLayersModel(fileSystemIO(out));
    expect(await predictions(plain, x)).toEqual(await predictions(model, x));
    tf.dispose([x]);
    [model, back, plain].forEach((m) => m.dispose());
  });

  it('a classifier checkpoint: weights, optimizer state and config come back; training resumes identically', async () => {
    const clf = await createModel('MobileNetV2', { numClasses: 3, headUnits: 8, inputSize: 32, seed: 5 });
    const x = tf.randomUniform([4, 32, 32, 3], -1, 1, 'float32', 1);
    const y = tf.tensor2d([1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0], [4, 3]);
    const loss = (m: tf.LayersModel) => () => tf.losses.sigmoidCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
    const step = (m: tf.LayersModel, opt: tf.Optimizer, vars: tf.Variable[]) => opt.minimize(loss(m), true, vars)?.dispose();
    // Use the logits model for a stable loss from logits.
    const opt = tf.train.adam(1e-3);
    step(clf.logitsModel, opt, clf.trainableVariables());
    const out = join(dir, 'checkpoint');
    await clf.save(out, { extraTensors: await opt.getWeights(), metadata: { epoch: 1 } });

    const { classifier: back, metadata, extraTensors } = await loadClassifier(out);
    expect(metadata['epoch']).toBe(1);
    expect(back.config).toEqual(clf.config);
    expect(back.name).toBe('MobileNetV2');
    expect(sameWeights(snapshot(back.model), snapshot(clf.model))).toBe(true);
    const optBack = tf.train.adam(1e-3);
    await optBack.setWeights(extraTensors);
    // One more step on each: identical weights after.
    step(clf.logitsModel, opt, clf.trainableVariables());
    step(back.logitsModel, optBack, back.trainableVariables());
    expect(sameWeights(snapshot(back.model), snapshot(clf.model))).toBe(true);
    tf.dispose([x, y]);
    opt.dispose();
    optBack.dispose();
    clf.dispose();
    back.dispose();
  });

  it('writes atomically: a failed save leaves the previous one intact and no temporary folders', async () => {
    const model = customLayersModel(2);
    const out = join(dir, 'atomic');
    await saveModel(model, out);
    const before = readFileSync(join(out, 'model.json'), 'utf8');
    const gone = tf.scalar(1);
    gone.dispose();
    await expect(saveModel(model, out, { extraTensors: [{ name: 'x', tensor: gone }] })).rejects.toThrow();
    expect(readFileSync(join(out, 'model.json'), 'utf8')).toBe(before);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    model.dispose();
  });

  it('a damaged or missing shard, or no model.json: a clear error', async () => {
    const model = customLayersModel(3);
    const out = join(dir, 'damaged');
    await saveModel(model, out);
    model.dispose();
    const shard = join(out, 'group1-shard1of1.bin');
    const bytes = readFileSync(shard);
    bytes[0] ^= 0xff;
    writeFileSync(shard, bytes);
    const e = await loadModel(out).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MedtrainError);
    expect((e as MedtrainError).message).toMatch(/damaged/);
    rmSync(shard);
    expect(((await loadModel(out).catch((err: unknown) => err)) as MedtrainError).message).toMatch(/missing/);
    const none = join(dir, 'none');
    expect(existsSync(none)).toBe(false);
    expect(((await loadModel(none).catch((err: unknown) => err)) as MedtrainError).code).toBe('model-not-found');
  });
});
