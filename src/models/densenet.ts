/**
 * DenseNet121 / 169 / 201 (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017),
 * layer for layer as keras.applications.densenet builds it: the same layer names, order, BN epsilon
 * (1.001e-5), paddings and bias-free convolutions, so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

const EPSILON = 1.001e-5;

/** Batch-norm settings shared by every BN layer of one DenseNet. */
type Bn = { epsilon: number; momentum: number };

/** A dense block: `blocks` conv blocks, each concatenating `growthRate` new feature maps. */
function denseBlock(L: LayerBuilder, x: Sym, blocks: number, growthRate: number, bn: Bn, name: string): Sym {
  for (let i = 0; i < blocks; i++) x = convBlock(L, x, growthRate, bn, `${name}_block${i + 1}`);
  return x;
}

/** A transition block: BN-ReLU, a 1×1 convolution compressing channels by `reduction`, 2×2 average pooling. */
function transitionBlock(L: LayerBuilder, x: Sym, reduction: number, bn: Bn, name: string): Sym {
  x = L.batchNorm(x, { ...bn, name: `${name}_bn` });
  x = L.activation(x, 'relu', `${name}_relu`);
  x = L.conv2d(x, { filters: Math.trunc(x.shape[3]! * reduction), kernelSize: 1, useBias: false, name: `${name}_conv` });
  return L.averagePooling2d(x, 2, { strides: 2, name: `${name}_pool` });
}

/** A building block of a dense block: BN-ReLU-Conv1×1 (4·growth) then BN-ReLU-Conv3×3 (growth), concatenated to the input. */
function convBlock(L: LayerBuilder, x: Sym, growthRate: number, bn: Bn, name: string): Sym {
  let x1 = L.batchNorm(x, { ...bn, name: `${name}_0_bn` });
  x1 = L.activation(x1, 'relu', `${name}_0_relu`);
  x1 = L.conv2d(x1, { filters: 4 * growthRate, kernelSize: 1, useBias: false, name: `${name}_1_conv` });
  x1 = L.batchNorm(x1, { ...bn, name: `${name}_1_bn` });
  x1 = L.activation(x1, 'relu', `${name}_1_relu`);
  x1 = L.conv2d(x1, { filters: growthRate, kernelSize: 3, padding: 'same', useBias: false, name: `${name}_2_conv` });
  return L.concatenate([x, x1], `${name}_concat`);
}

/**
 * What varies between DenseNets beside their block counts: the growth rate k, the stem's filters and
 * the batch-norm momentum (Keras's DenseNets: 32, 64 and Keras's default 0.99).
 */
export interface DenseNetWidth {
  growthRate: number;
  stemFilters: number;
  bnMomentum: number;
}

const KERAS_WIDTH: DenseNetWidth = { growthRate: 32, stemFilters: 64, bnMomentum: 0.99 };

/** DenseNet with the given numbers of conv blocks in its four dense blocks. */
export function denseNet(blocks: [number, number, number, number], opts: BackboneOptions, name: string, width: DenseNetWidth = KERAS_WIDTH): tf.LayersModel {
  const L = builderFor(opts);
  const bn: Bn = { epsilon: EPSILON, momentum: width.bnMomentum };
  const input = L.input(opts.inputSize);
  let x = L.zeroPadding2d(input, [
    [3, 3],
    [3, 3],
  ]);
  x = L.conv2d(x, { filters: width.stemFilters, kernelSize: 7, strides: 2, useBias: false, name: 'conv1_conv' });
  x = L.batchNorm(x, { ...bn, name: 'conv1_bn' });
  x = L.activation(x, 'relu', 'conv1_relu');
  x = L.zeroPadding2d(x, [
    [1, 1],
    [1, 1],
  ]);
  x = L.maxPooling2d(x, 3, { strides: 2, name: 'pool1' });

  x = denseBlock(L, x, blocks[0], width.growthRate, bn, 'conv2');
  x = transitionBlock(L, x, 0.5, bn, 'pool2');
  x = denseBlock(L, x, blocks[1], width.growthRate, bn, 'conv3');
  x = transitionBlock(L, x, 0.5, bn, 'pool3');
  x = denseBlock(L, x, blocks[2], width.growthRate, bn, 'conv4');
  x = transitionBlock(L, x, 0.5, bn, 'pool4');
  x = denseBlock(L, x, blocks[3], width.growthRate, bn, 'conv5');

  x = L.batchNorm(x, { ...bn, name: 'bn' });
  x = L.activation(x, 'relu', 'relu');
  return finishBackbone(L, input, x, opts, name, { avg: 'avg_pool', max: 'max_pool' });
}

export const denseNet121 = (opts: BackboneOptions) => denseNet([6, 12, 24, 16], opts, 'densenet121');
export const denseNet169 = (opts: BackboneOptions) => denseNet([6, 12, 32, 32], opts, 'densenet169');
export const denseNet201 = (opts: BackboneOptions) => denseNet([6, 12, 48, 32], opts, 'densenet201');
/**
 * A compact DenseNet-BC of the same blocks and widths as DenseNet121 (growth rate 32, a 64-filter
 * stem) with two conv blocks per dense block instead of 6-12-24-16 (0.42 M parameters), and
 * PyTorch's batch-norm momentum (0.1 there, 0.9 in Keras's terms), as torchvision's
 * DenseNet(growth_rate=32, block_config=(2, 2, 2, 2), num_init_features=64) builds it. It trains in
 * minutes on a CPU at 64 px and its moving statistics settle within the few hundred steps of such a
 * run: the phantom set's quick-start model. It has no ImageNet weights.
 */
export const denseNetMini = (opts: BackboneOptions) => denseNet([2, 2, 2, 2], opts, 'densenet_mini', { growthRate: 32, stemFilters: 64, bnMomentum: 0.9 });
