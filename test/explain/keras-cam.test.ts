/**
 * Oracle: Grad-CAM and Grad-CAM++ against TensorFlow's GradientTape in Keras on the same weights.
 * Keras builds the reference classifier (DenseNet121 + GAP → Dense(1024, relu) → Dense(5, sigmoid))
 * with seeded random weights and randomised batch-norm statistics, saves it, and computes each map of
 * two classes' logits at the last block ('relu', 4×4 at 128 px) on a fixed input; medtrain loads the
 * file and must give the same maps within 1e-4 of their scale.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { classMaps } from '../../src/explain/maps.js';
import { splitAt } from '../../src/explain/split.js';
import { createModel, type Classifier } from '../../src/models/classifier.js';
import { describeOracle, runPython } from '../helpers/python.js';
import { fixedInput, maxAbsDiff } from '../models/helpers.js';

const SCRIPT = readFileSync(join(import.meta.dirname, '..', 'models', 'oracle', 'keras_models.py'), 'utf8');
const JOB = { kind: 'cam', model: 'DenseNet121', size: 128, format: 'model-h5', file: 'cam.h5', seed: 3, batch: 2, head: { units: 1024, classes: 5 }, layer: 'relu', explain: [1, 4], maps: 'cam' };

describeOracle('Grad-CAM against Keras (GradientTape)', ['keras', 'tensorflow', 'h5py'], () => {
  let dir: string;
  let keras: Record<string, number | number[]>;
  let clf: Classifier;
  beforeAll(async () => {
    await initBackend('cpu', { quiet: true });
    dir = mkdtempSync(join(tmpdir(), 'medtrain-cam-oracle-'));
    keras = runPython<Record<string, number | number[]>[]>(SCRIPT, [{ ...JOB, dir }], { timeoutMs: 600_000 })[0]!;
    clf = await createModel(JOB.model, { numClasses: JOB.head.classes, headUnits: JOB.head.units, inputSize: JOB.size, weights: join(dir, JOB.file) });
  }, 900_000);
  afterAll(() => {
    clf?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const method of ['gradcam', 'gradcam++'] as const) {
    it(`${method}: the same maps as Keras on the same weights, for two classes`, async () => {
      const split = splitAt(clf.logitsModel, JOB.layer);
      const x = fixedInput(JOB.batch, JOB.size, false);
      const before = tf.memory().numTensors;
      for (const k of JOB.explain) {
        const ours = await classMaps(split, x, k, method);
        expect([JOB.batch, ours.h, ours.w]).toEqual(keras.shape);
        const bytes = readFileSync(join(dir, `cam-${k}-${method}.bin`));
        const ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        const scale = keras[`${k}-${method}`] as number;
        expect(scale).toBeGreaterThan(0); // not a vacuous match: the maps are not all zero
        expect(maxAbsDiff(ours.maps, ref) / Math.max(1, scale)).toBeLessThan(1e-4);
      }
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    });
  }
});
