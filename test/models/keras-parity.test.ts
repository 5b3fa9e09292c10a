/**
 * Oracle: medtrain's backbones against keras.applications. Keras (pip tensorflow-cpu) builds each
 * family's representative with seeded random weights and randomised BN statistics, saves it in one
 * of Keras's weight-file layouts, and records its output on a fixed input; medtrain loads the file
 * and must match that output within 1e-4 (max absolute difference), with the same ordered layers,
 * weight shapes and parameter count. The larger variants are compared by structure only.
 * One Python run per suite, everything in a temporary folder.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { createModel } from '../../src/models/classifier.js';
import { getModelSpec } from '../../src/models/registry.js';
import { loadKerasWeights } from '../../src/models/weights/keras.js';
import { describeOracle, runPython } from '../helpers/python.js';
import { fixedInput, kerasLayerList, maxAbsDiff } from './helpers.js';

type Format = 'h5' | 'model-h5' | 'weights-h5' | 'keras';
interface ParityJob {
  kind: 'parity';
  model: string;
  size: number;
  format: Format;
  file: string;
  output: string;
  seed: number;
  batch: number;
  head?: { units: number; classes: number; nested?: boolean };
}
interface StructureJob {
  kind: 'structure';
  model: string;
  size: number;
}
interface Keras2Job {
  kind: 'keras2';
  src: string;
  file: string;
}
type KerasLayer = [name: string, cls: string, weights: [string, number[]][]];
interface Described {
  params: number;
  layers: KerasLayer[];
  shape?: number[];
  absmax?: number;
}

const TOLERANCE = 1e-4;

const parity = (model: string, size: number, format: Format, extra: Partial<ParityJob> = {}): ParityJob => {
  const id = `${model}-${format}${extra.head ? `-head${extra.head.nested ? '-nested' : ''}` : ''}`;
  const ext = format === 'weights-h5' ? '.weights.h5' : format === 'keras' ? '.keras' : '.h5';
  return { kind: 'parity', model, size, format, file: `${id}${ext}`, output: `${id}.bin`, seed: 7, batch: 2, ...extra };
};

// One representative per family at a small legal size, spread over Keras's file layouts.
const PARITY: ParityJob[] = [
  parity('DenseNet121', 64, 'h5'),
  parity('ResNet50V2', 64, 'h5'),
  parity('ResNet50', 64, 'model-h5'),
  parity('InceptionV3', 75, 'h5'),
  parity('InceptionResNetV2', 75, 'h5'),
  parity('Xception', 71, 'weights-h5'),
  parity('MobileNetV2', 64, 'keras'),
  parity('EfficientNetB0', 64, 'h5'),
];
// The reference codebase's classifier, flat (whole-model legacy save) and nested (Keras 3 layouts).
const CLASSIFIERS: ParityJob[] = [
  parity('DenseNet121', 64, 'model-h5', { head: { units: 1024, classes: 5 } }),
  parity('MobileNetV2', 64, 'model-h5', { head: { units: 0, classes: 3, nested: true } }),
  parity('MobileNetV2', 64, 'weights-h5', { head: { units: 0, classes: 3, nested: true } }),
];
const STRUCTURE: StructureJob[] = ['DenseNet169', 'DenseNet201', 'ResNet101V2', 'ResNet152V2'].map((model) => ({ kind: 'structure', model, size: 224 }));
const KERAS2: Keras2Job = { kind: 'keras2', src: PARITY[0]!.file, file: 'DenseNet121-keras2.h5' };

const SOURCE = readFileSync(new URL('./oracle/keras_models.py', import.meta.url), 'utf8');

describeOracle('backbones match keras.applications', ['keras', 'h5py', 'numpy'], () => {
  let dir = '';
  const results = new Map<string, Described>();

  beforeAll(async () => {
    await initBackend('wasm', { quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'medtrain-keras-'));
    const jobs = [...PARITY, ...CLASSIFIERS, ...STRUCTURE, KERAS2];
    const out = runPython<Described[]>(SOURCE, jobs.map((j) => ({ ...j, dir })), { timeoutMs: 900_000 });
    jobs.forEach((j, i) => results.set(j.kind === 'structure' ? `structure:${j.model}` : j.file, out[i]!));
  }, 900_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function expected(job: ParityJob): Float32Array {
    const b = readFileSync(join(dir, job.output));
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }

  async function forward(model: tf.LayersModel, job: ParityJob): Promise<Float32Array> {
    const x = fixedInput(job.batch, job.size, job.model.startsWith('EfficientNet'));
    const y = model.predict(x) as tf.Tensor;
    const data = (await y.data()) as Float32Array;
    tf.dispose([x, y]);
    return data;
  }

  for (const job of PARITY) {
    it(`${job.model} at ${job.size} px from a Keras '${job.format}' file: same layers, weights, parameters and output`, async () => {
      const keras = results.get(job.file)!;
      const model = getModelSpec(job.model).build({ inputSize: job.size });
      try {
        expect(kerasLayerList(model)).toEqual(keras.layers);
        expect(model.countParams()).toBe(keras.params);
        const report = await loadKerasWeights(model, join(dir, job.file));
        expect(report.layers).toBe(keras.layers.filter((l) => l[2].length).length);
        expect(model.outputs[0]!.shape.slice(1)).toEqual(keras.shape!.slice(1));
        const ours = await forward(model, job);
        expect(maxAbsDiff(ours, expected(job))).toBeLessThan(TOLERANCE);
        // Not a vacuous match: the outputs are O(1) and a 1% change of the first layer's weights moves
        // them by over 100 times the tolerance, so a wrong weight anywhere upstream would show.
        expect(keras.absmax!).toBeGreaterThan(0.5);
        const first = model.layers.find((l) => l.weights.length)!;
        const saved = first.getWeights();
        first.setWeights(saved.map((w) => tf.mul(w, 1.01)));
        const moved = await forward(model, job);
        first.setWeights(saved);
        expect(maxAbsDiff(moved, ours)).toBeGreaterThan(100 * TOLERANCE);
      } finally {
        model.dispose();
      }
    });
  }

  it('DenseNet121 from a Keras 2-style file (other layer names, nested groups, byte-string and chunked attributes) loads by position', async () => {
    const job = PARITY[0]!;
    const model = getModelSpec(job.model).build({ inputSize: job.size });
    try {
      const report = await loadKerasWeights(model, join(dir, KERAS2.file));
      expect(report).toMatchObject({ format: 'keras-h5', kerasVersion: '2.2.4', pairing: 'position', layers: 241 });
      expect(maxAbsDiff(await forward(model, job), expected(job))).toBeLessThan(TOLERANCE);
    } finally {
      model.dispose();
    }
  });

  for (const job of CLASSIFIERS) {
    it(`the reference classifier on ${job.model} (${job.head!.nested ? 'nested' : 'flat'}, '${job.format}') loads into createModel and gives Keras's probabilities`, async () => {
      const clf = await createModel(job.model, { numClasses: job.head!.classes, headUnits: job.head!.units, inputSize: job.size, weights: join(dir, job.file) });
      try {
        expect(clf.weights).toMatchObject({ source: 'file', target: 'model' });
        expect(clf.model.countParams()).toBe(results.get(job.file)!.params);
        expect(maxAbsDiff(await forward(clf.model, job), expected(job))).toBeLessThan(TOLERANCE);
      } finally {
        clf.dispose();
      }
    });
  }

  it('a backbone-only load from a whole classifier file takes its leading layers', async () => {
    const job = CLASSIFIERS[0]!;
    const clf = await createModel(job.model, { numClasses: 2, headUnits: 16, inputSize: job.size, weights: join(dir, job.file), weightsTarget: 'backbone' });
    const ref = getModelSpec(job.model).build({ inputSize: job.size });
    try {
      await loadKerasWeights(ref, join(dir, job.file), { prefix: true });
      const x = fixedInput(1, job.size, false);
      const [a, b] = [clf.backbone.predict(x) as tf.Tensor, ref.predict(x) as tf.Tensor];
      expect(maxAbsDiff((await a.data()) as Float32Array, (await b.data()) as Float32Array)).toBe(0);
      tf.dispose([x, a, b]);
    } finally {
      clf.dispose();
      ref.dispose();
    }
  });

  for (const job of STRUCTURE) {
    it(`${job.model}: same ordered layers, weight names and shapes, and parameter count as Keras`, () => {
      const keras = results.get(`structure:${job.model}`)!;
      const model = getModelSpec(job.model).build({ inputSize: job.size });
      try {
        expect(kerasLayerList(model)).toEqual(keras.layers);
        expect(model.countParams()).toBe(keras.params);
      } finally {
        model.dispose();
      }
    });
  }
});
