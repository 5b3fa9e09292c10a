/**
 * Loading Keras weight files into a tfjs model, as Keras's `load_weights` does it:
 *  - legacy .h5 (keras.applications files, Keras 2 saves, whole-model saves): layers with weights are
 *    paired by position (names may differ between Keras versions), or by name when asked;
 *  - Keras 3 `.weights.h5` / `.keras`: each layer by its structural key (snake-cased class name and
 *    per-class counter in model order), or by name when asked.
 * Every pair is checked (number of weights, every shape) and every value read before anything is
 * assigned: on any error the model is left exactly as it was.
 */
import * as tf from '@tensorflow/tfjs';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { kerasSnakeCase } from '../layers.js';
import { openKerasWeights, type H5Layer, type KerasWeightsFile, type KerasWeightsFormat, type OpenedWeights } from './h5.js';

export interface LoadKerasWeightsOptions {
  /** Pair layers by name (Keras's `by_name=True`) instead of by position. Model layers absent from the file keep their weights and are listed in the report. */
  byName?: boolean;
  /** By position: the file may hold more layers than the model, whose layers then pair with the file's leading ones (a backbone from a whole-classifier save). */
  prefix?: boolean;
}

export interface KerasWeightsReport {
  file: string;
  format: KerasWeightsFormat;
  kerasVersion: string | null;
  pairing: 'position' | 'name';
  /** Layers that received weights. */
  layers: number;
  /** Weight tensors assigned. */
  tensors: number;
  /** By name: the model's layers with weights that the file had nothing for. */
  unmatched: string[];
}

interface Pair {
  layer: tf.layers.Layer;
  from: H5Layer;
}

/** The Keras class a tfjs layer stands for (our custom layers stand in for Keras's own). */
const KERAS_CLASS: Record<string, string> = { KerasNormalization: 'Normalization', ChannelRescaling: 'Rescaling', SeededDropout: 'Dropout' };
const kerasClassOf = (layer: tf.layers.Layer) => KERAS_CLASS[layer.getClassName()] ?? layer.getClassName();

export function layersWithWeights(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter((l) => l.weights.length > 0);
}

const shapeText = (s: readonly (number | null)[]) => `[${s.join(', ')}]`;

function mismatch(file: string, message: string, hint: string, value?: unknown): MedtrainError {
  return new MedtrainError(message, { code: 'weights-mismatch', file, hint, ...(value !== undefined && { value }) });
}

/** Describe where the layer lists of file and model part ways, for an error message. */
function firstDifference(fileLayers: H5Layer[], modelLayers: tf.layers.Layer[]): string {
  const n = Math.min(fileLayers.length, modelLayers.length);
  for (let i = 0; i < n; i++) {
    const f = fileLayers[i]!;
    const m = modelLayers[i]!;
    const fs = f.weights.map((w) => shapeText(w.shape)).join(' ');
    const ms = m.weights.map((w) => shapeText(w.shape)).join(' ');
    if (fs !== ms) return `they part at layer #${i + 1}: the file's '${f.name}' has ${fs}, the model's '${m.name}' has ${ms}`;
  }
  const longer = fileLayers.length > modelLayers.length ? `the file's extra layers start with '${fileLayers[n]?.name}'` : `the model's extra layers start with '${modelLayers[n]?.name}'`;
  return `the first ${n} agree; ${longer}`;
}

function pairLegacyByPosition(file: KerasWeightsFile, layers: tf.layers.Layer[], prefix: boolean): Pair[] {
  const ok = prefix ? file.layers.length >= layers.length : file.layers.length === layers.length;
  if (!ok) {
    throw mismatch(
      file.path,
      `the file holds weights for ${file.layers.length} layers, the model has ${layers.length} layers with weights: it was saved from another architecture or head`,
      `${firstDifference(file.layers, layers)}. Load the file into the model it was saved from (same backbone, input channels and head), or pair by name`,
    );
  }
  return layers.map((layer, i) => ({ layer, from: file.layers[i]! }));
}

/** Keras 3's structural keys for the model's layers, split over the file's containers (nested first). */
function pairKeras3ByPosition(file: KerasWeightsFile, layers: tf.layers.Layer[], prefix: boolean): Pair[] {
  const byContainer = new Map<string, Map<string, H5Layer>>();
  for (const l of file.layers) {
    const c = l.container ?? '';
    if (!byContainer.has(c)) byContainer.set(c, new Map());
    byContainer.get(c)!.set(l.key!, l);
  }
  const sizes = file.containers.map((c) => byContainer.get(c)?.size ?? 0);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (prefix ? total < layers.length : total !== layers.length) {
    throw mismatch(
      file.path,
      `the file holds weights for ${total} layers, the model has ${layers.length} layers with weights: it was saved from another architecture or head`,
      'load the file into the model it was saved from (same backbone and head), or pair by name',
    );
  }
  const pairs: Pair[] = [];
  let i = 0;
  file.containers.forEach((container, ci) => {
    const counts = new Map<string, number>();
    const entries = byContainer.get(container) ?? new Map<string, H5Layer>();
    for (let k = 0; k < sizes[ci]! && i < layers.length; k++, i++) {
      const layer = layers[i]!;
      const base = kerasSnakeCase(kerasClassOf(layer));
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      const key = n === 0 ? base : `${base}_${n}`;
      const from = entries.get(key);
      if (!from) {
        throw mismatch(
          file.path,
          `layer '${layer.name}' (${kerasClassOf(layer)}) has no counterpart '${container ? `${container}/` : ''}${key}' in the file`,
          'the file was saved from another architecture: load it into the model it was saved from, or pair by name',
        );
      }
      pairs.push({ layer, from });
    }
  });
  return pairs;
}

function pairByName(file: KerasWeightsFile, layers: tf.layers.Layer[]): { pairs: Pair[]; unmatched: string[] } {
  const byName = new Map<string, H5Layer>();
  for (const l of file.layers) {
    if (byName.has(l.name)) throw mismatch(file.path, `the file has two layers named '${l.name}'`, 'pair by position instead', l.name);
    byName.set(l.name, l);
  }
  const pairs: Pair[] = [];
  const unmatched: string[] = [];
  for (const layer of layers) {
    const from = byName.get(layer.name);
    if (from) pairs.push({ layer, from });
    else unmatched.push(layer.name);
  }
  if (!pairs.length) {
    throw mismatch(
      file.path,
      'no layer of the model has a namesake in the file',
      `the file's layers are named ${listForMessage(file.layers.map((l) => l.name), 8)}; the model's ${listForMessage(layers.map((l) => l.name), 8)}. Pair by position instead`,
    );
  }
  return { pairs, unmatched };
}

/** Check every pair: the number of weights and every shape. */
function checkPairs(file: string, pairs: Pair[]): void {
  for (const { layer, from } of pairs) {
    const mine = layer.weights;
    if (mine.length !== from.weights.length) {
      throw mismatch(
        file,
        `layer '${layer.name}' has ${mine.length} weights (${mine.map((w) => w.originalName.split('/').pop()).join(', ')}) but the file's layer '${from.name}' has ${from.weights.length} (${from.weights.map((w) => w.name).join(', ')})`,
        'the file was saved from another architecture: load it into the model it was saved from',
      );
    }
    mine.forEach((w, k) => {
      const theirs = from.weights[k]!;
      const same = w.shape.length === theirs.shape.length && w.shape.every((d, j) => d === theirs.shape[j]);
      if (!same) {
        throw mismatch(
          file,
          `layer '${layer.name}', weight '${w.originalName}': shape ${shapeText(theirs.shape)} in the file (layer '${from.name}', weight '${theirs.name}'), ${shapeText(w.shape)} in the model`,
          'the file was saved from another architecture, input size or number of classes: load it into the model it was saved from',
        );
      }
    });
  }
}

/**
 * Load weights from an already opened Keras file into `model` (whole model, or a backbone view of it).
 * Validates every pair and reads every value first; assigns only when all is well.
 */
export function assignKerasWeights(model: tf.LayersModel, file: KerasWeightsFile, opts: LoadKerasWeightsOptions = {}): KerasWeightsReport {
  const layers = layersWithWeights(model);
  let pairs: Pair[];
  let unmatched: string[] = [];
  if (opts.byName) ({ pairs, unmatched } = pairByName(file, layers));
  else if (file.format === 'keras3-weights') pairs = pairKeras3ByPosition(file, layers, Boolean(opts.prefix));
  else pairs = pairLegacyByPosition(file, layers, Boolean(opts.prefix));
  checkPairs(file.path, pairs);

  // Read everything before touching the model: a read failure leaves it untouched.
  const values = pairs.map(({ from }) => from.weights.map((w) => w.read()));

  let tensors = 0;
  pairs.forEach(({ layer }, i) => {
    layer.weights.forEach((w, k) => {
      const t = tf.tensor(values[i]![k]!, w.shape as number[], 'float32');
      w.write(t);
      t.dispose();
      tensors++;
    });
  });
  return { file: file.path, format: file.format, kerasVersion: file.kerasVersion, pairing: opts.byName ? 'name' : 'position', layers: pairs.length, tensors, unmatched };
}

/** Load a Keras weight file (.h5, .weights.h5 or .keras) into a model. See assignKerasWeights. */
export async function loadKerasWeights(model: tf.LayersModel, path: string, opts: LoadKerasWeightsOptions = {}): Promise<KerasWeightsReport> {
  const file = await openKerasWeights(path);
  try {
    return assignKerasWeights(model, file, opts);
  } finally {
    file.close();
  }
}

export { openKerasWeights, type OpenedWeights, type KerasWeightsFile, type KerasWeightsFormat };
