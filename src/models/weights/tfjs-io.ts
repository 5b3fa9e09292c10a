/**
 * The tfjs layers-model format on the file system: `model.json` (topology + weights manifest) and
 * binary shards (`group1-shard1ofN.bin`, 4 MiB each, as tfjs's converter writes them), readable by
 * `tf.loadLayersModel` from any tfjs. Our own IOHandler, because @tensorflow/tfjs has none for Node's
 * file system and tfjs-node's is not always present.
 *
 * - Writes are atomic: the folder is filled under a temporary name and renamed into place, so a crash
 *   leaves the previous save (or none), never half of one.
 * - Each shard's SHA-256 is recorded and checked on load.
 * - Extra named tensors (an optimizer's state, for a training checkpoint) travel in shards of their
 *   own, listed under `medtrain.extraWeightsManifest` where tfjs's loaders do not look; JSON metadata
 *   goes to `userDefinedMetadata`.
 * - Custom layers (custom-layers.ts) are registered by importing this module, so models that use
 *   them load back.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import { writeDirAtomic } from '../../util/fs.js';
import { applyKerasBatchNormSemantics } from '../custom-layers.js';

/** A tensor with a name, as `optimizer.getWeights()` returns them. */
export type NamedTensor = { name: string; tensor: tf.Tensor };

const MODEL_JSON = 'model.json';
const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

type ManifestGroup = { paths: string[]; weights: tf.io.WeightsManifestEntry[] };

interface MedtrainSection {
  version: 1;
  /** SHA-256 of every shard file, by file name. */
  sha256: Record<string, string>;
  extraWeightsManifest?: ManifestGroup[];
}

type ModelJson = tf.io.ModelJSON & { medtrain?: MedtrainSection };

export interface SaveModelOptions {
  /** Named tensors to keep beside the weights, e.g. `await optimizer.getWeights()`. */
  extraTensors?: NamedTensor[];
  /** JSON-serialisable metadata (stored as `userDefinedMetadata`). */
  metadata?: Record<string, unknown>;
  /** Shard size in bytes (default 4 MiB). */
  shardBytes?: number;
}

export interface SavedModelInfo {
  dir: string;
  files: string[];
  bytes: number;
  weightTensors: number;
  extraTensors: number;
}

export interface LoadedModel {
  model: tf.LayersModel;
  metadata: Record<string, unknown>;
  /** The extra tensors saved with the model (the caller disposes them). */
  extraTensors: NamedTensor[];
}

function toBuffer(data: tf.io.WeightData | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  return new Uint8Array(tf.io.CompositeArrayBuffer.join(data));
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Write `data` as shards named `${prefix}-shard{i}of{n}.bin`; returns their names. */
async function writeShards(dir: string, prefix: string, data: Uint8Array, shardBytes: number, sums: Record<string, string>): Promise<string[]> {
  const n = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}-shard${i + 1}of${n}.bin`;
    const part = data.subarray(i * shardBytes, Math.min(data.byteLength, (i + 1) * shardBytes));
    await fsp.writeFile(join(dir, name), part);
    sums[name] = sha256(part);
    names.push(name);
  }
  return names;
}

/**
 * A tfjs IOHandler for a folder: `model.save(fileSystemIO(dir))` and `tf.loadLayersModel(fileSystemIO(dir))`.
 * `saveModel` / `loadModel` add extra tensors and metadata.
 */
export function fileSystemIO(dir: string, opts: SaveModelOptions = {}): tf.io.IOHandler {
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
      await writeDirAtomic(dir, async (tmp) => {
        const sums: Record<string, string> = {};
        const paths = await writeShards(tmp, 'group1', toBuffer(artifacts.weightData), shardBytes, sums);
        const medtrain: MedtrainSection = { version: 1, sha256: sums };
        if (opts.extraTensors?.length) {
          const { data, specs } = await tf.io.encodeWeights(opts.extraTensors);
          const extraPaths = await writeShards(tmp, 'extra', new Uint8Array(data), shardBytes, sums);
          medtrain.extraWeightsManifest = [{ paths: extraPaths, weights: specs }];
        }
        const json: ModelJson = {
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
          convertedBy: 'medtrain',
          modelTopology: artifacts.modelTopology as object,
          weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
          ...(artifacts.trainingConfig && { trainingConfig: artifacts.trainingConfig }),
          ...(opts.metadata && { userDefinedMetadata: opts.metadata as Record<string, object> }),
          medtrain,
        };
        await fsp.writeFile(join(tmp, MODEL_JSON), `${JSON.stringify(json)}\n`);
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const json = await readModelJson(dir);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => readGroups(dir, manifest, json.medtrain?.sha256));
    },
  };
}

async function readModelJson(dir: string): Promise<ModelJson> {
  const path = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    throw new MedtrainError('no saved model here (model.json is missing)', { code: 'model-not-found', file: path, hint: 'pass the folder a model was saved to', cause: e });
  }
  try {
    const json = JSON.parse(text) as ModelJson;
    if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error('no modelTopology or weightsManifest');
    return json;
  } catch (e) {
    throw new MedtrainError(`model.json is not a tfjs layers model: ${(e as Error).message}`, { code: 'bad-model-file', file: path, hint: 'save the model again', cause: e });
  }
}

async function readGroups(dir: string, manifest: ManifestGroup[], sums: Record<string, string> | undefined): Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const group of manifest) {
    for (const name of group.paths) {
      const path = join(dir, name);
      let bytes: Uint8Array;
      try {
        bytes = await fsp.readFile(path);
      } catch (e) {
        throw new MedtrainError('a weight shard of the saved model is missing', { code: 'bad-model-file', file: path, hint: 'the save is incomplete: use another checkpoint or save again', cause: e });
      }
      if (sums?.[name] && sha256(bytes) !== sums[name]) {
        throw new MedtrainError('a weight shard of the saved model is damaged (its SHA-256 differs from the one recorded at save time)', {
          code: 'bad-model-file',
          file: path,
          hint: 'use another checkpoint or save again',
        });
      }
      parts.push(bytes);
    }
    specs.push(...group.weights);
  }
  const total = parts.reduce((s, p) => s + p.byteLength, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  return [specs, all.buffer];
}

/** Save a model (and optional extra tensors and metadata) to a folder, atomically. */
export async function saveModel(model: tf.LayersModel, dir: string, opts: SaveModelOptions = {}): Promise<SavedModelInfo> {
  await model.save(fileSystemIO(dir, opts));
  const files = (await fsp.readdir(dir)).sort();
  let bytes = 0;
  for (const f of files) bytes += (await fsp.stat(join(dir, f))).size;
  return { dir, files, bytes, weightTensors: model.weights.length, extraTensors: opts.extraTensors?.length ?? 0 };
}

/**
 * Load a model saved by `saveModel` (or any tfjs layers-model folder), with its metadata and extra
 * tensors. Frozen BatchNormalization layers get Keras's semantics back (see applyKerasBatchNormSemantics).
 */
export async function loadModel(dir: string): Promise<LoadedModel> {
  const json = await readModelJson(dir);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(fileSystemIO(dir));
  } catch (e) {
    if (e instanceof MedtrainError) throw e;
    throw new MedtrainError(`cannot rebuild the saved model: ${(e as Error).message}`, {
      code: 'bad-model-file',
      file: join(dir, MODEL_JSON),
      hint: 'a layer class unknown here (saved by a newer medtrain or with a custom layer?) or a damaged model.json',
      cause: e,
    });
  }
  applyKerasBatchNormSemantics(model);
  let extraTensors: NamedTensor[] = [];
  const extra = json.medtrain?.extraWeightsManifest;
  if (extra?.length) {
    try {
      const [specs, data] = await readGroups(dir, extra, json.medtrain?.sha256);
      const map = tf.io.decodeWeights(data, specs);
      extraTensors = specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
    } catch (e) {
      model.dispose();
      throw e;
    }
  }
  return { model, metadata: (json.userDefinedMetadata ?? {}) as Record<string, unknown>, extraTensors };
}
