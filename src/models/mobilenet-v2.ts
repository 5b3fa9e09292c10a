/**
 * MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018),
 * width multiplier 1.0, layer for layer as keras.applications.mobilenet_v2 builds it: inverted
 * residual blocks of expand 1×1 → depthwise 3×3 → linear project 1×1, ReLU6, BN with epsilon 1e-3 and
 * momentum 0.999, so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import { correctPad, type LayerBuilder, type Sym } from './layers.js';

const BN = { epsilon: 1e-3, momentum: 0.999 };

/** Keras's `_make_divisible`: round channels to a multiple of `divisor`, never below 90% of `v`. */
export function makeDivisible(v: number, divisor: number, minValue = divisor): number {
  let n = Math.max(minValue, Math.trunc(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/** The inverted residual block: expand (except block 0), depthwise, linear projection, identity add when shapes allow. */
function invertedResBlock(L: LayerBuilder, inputs: Sym, expansion: number, stride: number, filters: number, blockId: number): Sym {
  const inChannels = inputs.shape[3]!;
  const pointwiseFilters = makeDivisible(filters, 8);
  let x = inputs;
  let prefix = `block_${blockId}_`;
  if (blockId) {
    x = L.conv2d(x, { filters: expansion * inChannels, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}expand` });
    x = L.batchNorm(x, { ...BN, name: `${prefix}expand_BN` });
    x = L.relu(x, 6, `${prefix}expand_relu`);
  } else {
    prefix = 'expanded_conv_';
  }
  if (stride === 2) x = L.zeroPadding2d(x, correctPad(x, 3), `${prefix}pad`);
  x = L.depthwiseConv2d(x, { kernelSize: 3, strides: stride, useBias: false, padding: stride === 1 ? 'same' : 'valid', name: `${prefix}depthwise` });
  x = L.batchNorm(x, { ...BN, name: `${prefix}depthwise_BN` });
  x = L.relu(x, 6, `${prefix}depthwise_relu`);
  x = L.conv2d(x, { filters: pointwiseFilters, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` });
  x = L.batchNorm(x, { ...BN, name: `${prefix}project_BN` });
  if (inChannels === pointwiseFilters && stride === 1) return L.add([inputs, x], `${prefix}add`);
  return x;
}

/** [filters, stride, expansion] of blocks 0..16. */
const BLOCKS: [number, number, number][] = [
  [16, 1, 1],
  [24, 2, 6], [24, 1, 6],
  [32, 2, 6], [32, 1, 6], [32, 1, 6],
  [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6],
  [160, 2, 6], [160, 1, 6], [160, 1, 6],
  [320, 1, 6],
];

/** The input sizes Keras publishes MobileNetV2 ImageNet weights for (other sizes load the 224 ones). */
export const MOBILENET_V2_WEIGHT_SIZES = [96, 128, 160, 192, 224];

export function mobileNetV2(opts: BackboneOptions): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  let x = L.conv2d(input, { filters: makeDivisible(32, 8), kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' });
  x = L.batchNorm(x, { ...BN, name: 'bn_Conv1' });
  x = L.relu(x, 6, 'Conv1_relu');
  BLOCKS.forEach(([filters, stride, expansion], blockId) => {
    x = invertedResBlock(L, x, expansion, stride, filters, blockId);
  });
  x = L.conv2d(x, { filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' });
  x = L.batchNorm(x, { ...BN, name: 'Conv_1_bn' });
  x = L.relu(x, 6, 'out_relu');
  return finishBackbone(L, input, x, opts, `mobilenetv2_1.00_${opts.inputSize}`, { topPool: undefined });
}
