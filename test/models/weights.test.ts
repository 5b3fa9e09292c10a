/**
 * Keras weight files: the three layouts, pairing by position and by name, and bad input (truncated or
 * garbage files, another architecture, a shape mismatch), which must name the layer and both shapes
 * and leave the model untouched. Fixtures are written here with h5wasm (no Python needed).
 */
import * as tf from '@tensorflow/tfjs';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { createModel } from '../../src/models/classifier.js';
import { getModelSpec } from '../../src/models/registry.js';
import { loadKerasWeights, openKerasWeights } from '../../src/models/weights/keras.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { sameWeights, snapshot, writeKeras3Weights, writeLegacyH5, writeZip } from './keras-files.js';

let dir = '';
beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
  dir = mkdtempSync(join(tmpdir(), 'medtrain-weights-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mobileNet = (seed: number | null) => getModelSpec('MobileNetV2').build({ inputSize: 32, rng: seed === null ? null : new Rng(seed) });

async function rejects(p: Promise<unknown>): Promise<MedtrainError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MedtrainError);
  return e as MedtrainError;
}

describe('Keras weight files', () => {
  it('loads the keras.applications layout by position, exactly, whatever the layer names', async () => {
    const src = mobileNet(1);
    const file = join(dir, 'renamed.h5');
    // Another Keras version's names, with '/' (nested HDF5 groups) as Keras 2.1 had them.
    await writeLegacyH5(src, file, { rename: (n) => `old/${n.toLowerCase()}` });
    const dst = mobileNet(2);
    const before = tf.memory().numTensors;
    const report = await loadKerasWeights(dst, file);
    expect(tf.memory().numTensors).toBe(before);
    expect(report).toMatchObject({ format: 'keras-h5', pairing: 'position', layers: 104, tensors: 260, kerasVersion: '2.15.0' });
    expect(sameWeights(snapshot(dst), snapshot(src))).toBe(true);
    src.dispose();
    dst.dispose();
  });

  it('pairs by name when asked, whatever the order in the file', async () => {
    const src = mobileNet(3);
    const file = join(dir, 'reordered.h5');
    await writeLegacyH5(src, file, { order: (names) => [...names].reverse() });
    const dst = mobileNet(4);
    const untouched = snapshot(dst);
    // By position the reversed list pairs the wrong layers: refused, nothing assigned.
    const e = await rejects(loadKerasWeights(dst, file));
    expect(e.code).toBe('weights-mismatch');
    expect(sameWeights(snapshot(dst), untouched)).toBe(true);
    const report = await loadKerasWeights(dst, file, { byName: true });
    expect(report).toMatchObject({ pairing: 'name', layers: 104, unmatched: [] });
    expect(sameWeights(snapshot(dst), snapshot(src))).toBe(true);
    src.dispose();
    dst.dispose();
  });

  it("loads a whole-model save (model_weights), Keras 3's .weights.h5 layout and a .keras archive", async () => {
    const src = mobileNet(5);
    const whole = join(dir, 'whole.h5');
    const k3 = join(dir, 'k3.weights.h5');
    const archive = join(dir, 'model.keras');
    await writeLegacyH5(src, whole, { layout: 'model' });
    await writeKeras3Weights(src, k3);
    writeZip(archive, { 'metadata.json': Buffer.from('{}'), 'config.json': Buffer.from('{}'), 'model.weights.h5': readFileSync(k3) });
    for (const [file, format] of [
      [whole, 'keras-h5-model'],
      [k3, 'keras3-weights'],
      [archive, 'keras3-weights'],
    ] as const) {
      const dst = mobileNet(6);
      const report = await loadKerasWeights(dst, file);
      expect(report).toMatchObject({ format, layers: 104, file });
      expect(sameWeights(snapshot(dst), snapshot(src))).toBe(true);
      dst.dispose();
    }
    const byName = mobileNet(7);
    expect((await loadKerasWeights(byName, k3, { byName: true })).layers).toBe(104);
    expect(sameWeights(snapshot(byName), snapshot(src))).toBe(true);
    byName.dispose();
    src.dispose();
  });

  it('splits a nested model saved as one layer back into its layers', async () => {
    const src = mobileNet(8);
    const file = join(dir, 'nested.h5');
    // Keras 2 saved a nested model's weights as one group: trainable weights first, then the others.
    const { File, ready } = (await import('h5wasm/node')).default;
    await ready;
    const f = new File(file, 'w');
    f.create_attribute('layer_names', ['input_1', 'mobilenetv2']);
    f.create_group('input_1').create_attribute('weight_names', new Float64Array(0));
    const g = f.create_group('mobilenetv2');
    const ws = [...src.trainableWeights, ...src.nonTrainableWeights];
    const names = ws.map((w) => `mobilenetv2/${w.originalName}:0`);
    g.create_attribute('weight_names', names);
    ws.forEach((w, i) => {
      let parent = g;
      const parts = names[i]!.split('/');
      for (const p of parts.slice(0, -1)) parent = parent.keys().includes(p) ? (parent.get(p) as typeof g) : parent.create_group(p);
      parent.create_dataset({ name: parts[parts.length - 1]!, data: w.read().dataSync() as Float32Array, shape: w.shape as number[] });
    });
    f.close();
    const dst = mobileNet(9);
    expect((await loadKerasWeights(dst, file)).layers).toBe(104);
    expect(sameWeights(snapshot(dst), snapshot(src))).toBe(true);
    src.dispose();
    dst.dispose();
  });
});

describe('bad weight files', () => {
  let good = '';
  beforeAll(async () => {
    const src = mobileNet(11);
    good = join(dir, 'good.h5');
    await writeLegacyH5(src, good);
    src.dispose();
  });

  it('a truncated file: says so, with the sizes', async () => {
    const file = join(dir, 'truncated.h5');
    copyFileSync(good, file);
    truncateSync(file, Math.floor(readFileSync(good).length / 2));
    const e = await rejects(openKerasWeights(file));
    expect(e.code).toBe('bad-weights-file');
    expect(e.message).toContain(file);
    expect(e.message).toMatch(/truncated: it has \d+ of its \d+ bytes/);
  });

  it('garbage, an empty file, a missing file, an HDF5 file that is not Keras, a broken .keras archive', async () => {
    const garbage = join(dir, 'garbage.h5');
    writeFileSync(garbage, Buffer.from(new Rng(1).permutation(4096).map((v) => v % 251)));
    expect((await rejects(openKerasWeights(garbage))).message).toMatch(/not an HDF5 file/);
    const empty = join(dir, 'empty.h5');
    writeFileSync(empty, '');
    expect((await rejects(openKerasWeights(empty))).code).toBe('bad-weights-file');
    expect((await rejects(openKerasWeights(join(dir, 'nope.h5')))).code).toBe('weights-not-found');
    const other = join(dir, 'other.h5');
    const { File, ready } = (await import('h5wasm/node')).default;
    await ready;
    const f = new File(other, 'w');
    f.create_group('images').create_dataset({ name: 'x', data: new Float32Array(4), shape: [4] });
    f.close();
    expect((await rejects(openKerasWeights(other))).message).toMatch(/not a Keras weight file/);
    const archive = join(dir, 'broken.keras');
    writeFileSync(archive, readFileSync(good).subarray(0, 100));
    expect((await rejects(openKerasWeights(archive))).message).toMatch(/cannot read the \.keras archive/);
  });

  it('weights of another architecture: refused, the model untouched', async () => {
    const other = getModelSpec('EfficientNetB0').build({ inputSize: 32, rng: new Rng(1) });
    const file = join(dir, 'efficientnet.h5');
    await writeLegacyH5(other, file);
    other.dispose();
    const dst = mobileNet(12);
    const untouched = snapshot(dst);
    const e = await rejects(loadKerasWeights(dst, file));
    expect(e.code).toBe('weights-mismatch');
    expect(e.message).toMatch(/holds weights for 131 layers, the model has 104/);
    expect(e.message).toMatch(/part at layer #1: the file's 'normalization'/);
    expect(sameWeights(snapshot(dst), untouched)).toBe(true);
    dst.dispose();
  });

  it('a shape mismatch in the last layer: names the layer and both shapes, assigns nothing', async () => {
    const src = await createModel('MobileNetV2', { numClasses: 3, headUnits: 8, inputSize: 32, seed: 1 });
    const file = join(dir, 'three-classes.h5');
    await writeLegacyH5(src.model, file, { layout: 'model' });
    src.dispose();
    const dst = await createModel('MobileNetV2', { numClasses: 4, headUnits: 8, inputSize: 32, seed: 2 });
    const untouched = snapshot(dst.model);
    const e = await rejects(loadKerasWeights(dst.model, file));
    expect(e.message).toContain("layer 'head_logits', weight 'head_logits/kernel': shape [8, 3] in the file");
    expect(e.message).toContain('[8, 4] in the model');
    expect(sameWeights(snapshot(dst.model), untouched)).toBe(true);
    // Through createModel the same file fails before anything is left allocated.
    const tensors = tf.memory().numTensors;
    const e2 = await rejects(createModel('MobileNetV2', { numClasses: 4, headUnits: 8, inputSize: 32, weights: file }));
    expect(e2.message).toContain('[8, 3] in the file');
    expect(tf.memory().numTensors).toBe(tensors);
    dst.dispose();
  });

  it('a file with another head: createModel says which counts differ and how to take just the backbone', async () => {
    const src = await createModel('MobileNetV2', { numClasses: 3, headUnits: 8, inputSize: 32, seed: 1 });
    const file = join(dir, 'head8.h5');
    await writeLegacyH5(src.model, file, { layout: 'model' });
    const e = await rejects(createModel('MobileNetV2', { numClasses: 3, headUnits: 0, inputSize: 32, weights: file }));
    expect(e.message).toMatch(/holds 106 layers with weights; this MobileNetV2 classifier has 105 and its backbone 104/);
    expect(e.hint).toMatch(/weightsTarget: 'backbone'/);
    const clf = await createModel('MobileNetV2', { numClasses: 5, headUnits: 0, inputSize: 32, weights: file, weightsTarget: 'backbone' });
    expect(clf.weights.target).toBe('backbone');
    expect(sameWeights(snapshot(clf.backbone), snapshot(src.backbone))).toBe(true);
    clf.dispose();
    src.dispose();
  });
});
