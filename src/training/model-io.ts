/**
 * Model files for the run folder, in the tfjs layers-model format (model.json + weights.bin), as
 * `tf.loadLayersModel` reads them. A private minimal version for checkpoints: the models module's
 * file-system IOHandler (src/models/weights/) is meant to replace it.
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MedtrainError } from '../util/errors.js';

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

function joinBuffers(d: tf.io.WeightData | undefined): Uint8Array {
  if (!d) return new Uint8Array(0);
  if (Array.isArray(d)) return new Uint8Array(tf.io.concatenateArrayBuffers(d));
  return new Uint8Array(d);
}

/** Write model.json and weights.bin into `dir` (which must exist; run-store fills it atomically). */
export async function saveModelFiles(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const json: ModelJson = {
        format: a.format,
        generatedBy: a.generatedBy,
        convertedBy: a.convertedBy ?? null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: a.weightSpecs ?? [] }],
      };
      await fsp.writeFile(join(dir, WEIGHTS_BIN), joinBuffers(a.weightData));
      await fsp.writeFile(join(dir, MODEL_JSON), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

async function readModelFiles(dir: string): Promise<{ json: ModelJson; weights: ArrayBuffer }> {
  const file = join(dir, MODEL_JSON);
  let json: ModelJson;
  try {
    json = JSON.parse(await fsp.readFile(file, 'utf8')) as ModelJson;
  } catch (e) {
    throw new MedtrainError('cannot read the saved model', { code: 'bad-checkpoint', file, hint: `is ${dir} a complete checkpoint? (${(e as Error).message})`, cause: e });
  }
  const group = json.weightsManifest?.[0];
  if (!group || json.weightsManifest.length !== 1 || group.paths.length !== 1) {
    throw new MedtrainError('the saved model has no single weights file', { code: 'bad-checkpoint', file });
  }
  const buf = await fsp.readFile(join(dir, group.paths[0]!));
  const weights = new ArrayBuffer(buf.byteLength);
  new Uint8Array(weights).set(buf);
  return { json, weights };
}

/**
 * Load the weights saved in `dir` into an existing model: by name when every name matches,
 * otherwise by position (as Keras pairs weights), checking each shape. Nothing is written unless
 * every weight fits.
 */
export async function loadWeightsInto(model: tf.LayersModel, dir: string): Promise<void> {
  const { json, weights } = await readModelFiles(dir);
  const specs = json.weightsManifest[0]!.weights;
  const named = tf.io.decodeWeights(weights, specs);
  try {
    const targets = model.weights;
    const byName = targets.every((w) => named[w.originalName] !== undefined) && new Set(targets.map((w) => w.originalName)).size === targets.length;
    if (!byName && specs.length !== targets.length) {
      throw new MedtrainError(`the saved model has ${specs.length} weights, this model ${targets.length}`, { code: 'weights-mismatch', file: join(dir, MODEL_JSON), hint: 'load a checkpoint of the same model' });
    }
    const values = targets.map((w, i) => {
      const t = byName ? named[w.originalName]! : named[specs[i]!.name]!;
      if (t.shape.length !== w.shape.length || t.shape.some((d, k) => d !== w.shape[k])) {
        throw new MedtrainError(`weight ${w.originalName}: saved shape [${t.shape}] differs from the model's [${w.shape}]`, { code: 'weights-mismatch', file: join(dir, MODEL_JSON) });
      }
      return t;
    });
    model.setWeights(values);
  } finally {
    tf.dispose(Object.values(named));
  }
}

/** Load a whole model (topology and weights) from `dir`. */
export async function loadModelFiles(dir: string): Promise<tf.LayersModel> {
  const { json, weights } = await readModelFiles(dir);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology as tf.io.ModelJSON['modelTopology'],
      weightSpecs: json.weightsManifest[0]!.weights,
      weightData: weights,
      ...(json.format !== undefined && { format: json.format }),
      ...(json.generatedBy !== undefined && { generatedBy: json.generatedBy }),
    }),
  );
}
