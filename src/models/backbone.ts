/**
 * What every backbone builder takes and returns, and the part they share: the top (Keras's
 * `include_top`) or the optional global pooling.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { LayerBuilder, type Sym } from './layers.js';

export type Pooling = 'avg' | 'max';

export interface BackboneOptions {
  /** Square input size in pixels. */
  inputSize: number;
  /** Add Keras's ImageNet classifier (global average pooling + Dense(classes, softmax), named 'predictions'). Default false. */
  includeTop?: boolean;
  /** Without the top: global 'avg' or 'max' pooling after the last block, or none (a 4-D feature map). */
  pooling?: Pooling | null;
  /** Classes of the top. Default 1000. */
  classes?: number;
  /** Seeds the initialisers; null or absent: every weight starts at zero (weights to be loaded). */
  rng?: Rng | null;
  /** EfficientNet only: the extra rescaling Keras inserts when it builds the model for its ImageNet weights. */
  imagenetWeights?: boolean;
}

/**
 * Finish a backbone as keras.applications does: the top, or the optional pooling, then the model.
 * `names` are the family's names for the pooling layers (undefined: Keras's automatic name) and what
 * comes between the top's pooling and its Dense layer.
 */
export function finishBackbone(
  L: LayerBuilder,
  input: Sym,
  x: Sym,
  opts: BackboneOptions,
  name: string,
  names: { avg?: string; max?: string; topPool?: string | undefined; beforeTop?: (x: Sym) => Sym } = {},
): tf.LayersModel {
  if (opts.includeTop) {
    x = L.globalAveragePooling2d(x, 'topPool' in names ? names.topPool : 'avg_pool');
    if (names.beforeTop) x = names.beforeTop(x);
    x = L.dense(x, { units: opts.classes ?? 1000, activation: 'softmax', name: 'predictions' });
  } else if (opts.pooling === 'avg') {
    x = L.globalAveragePooling2d(x, names.avg);
  } else if (opts.pooling === 'max') {
    x = L.globalMaxPooling2d(x, names.max);
  }
  return tf.model({ inputs: input, outputs: x, name });
}

export function builderFor(opts: BackboneOptions): LayerBuilder {
  return new LayerBuilder(opts.rng ?? null);
}
