/**
 * DenseNet121 / 169 / 201 (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017),
 * layer for layer as keras.applications.densenet builds it: the same layer names, order, BN epsilon
 * (1.001e-5), paddings and bias-free convolutions, so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

const EPSILON = 1.001e-5;

/** A dense block: `blocks` conv blocks, each concatenating 32 new feature maps. */
function denseBlock(L: LayerBuilder, x: Sym, blocks: number, name: string): Sym {
  for (let i = 0; i < blocks; i++) x = convBlock(L, x, 32, `${name}_block${i + 1}`);
  return x;
}

/** A transition block: BN-ReLU, a 1×1 convolution compressing channels by `reduction`, 2×2 average pooling. */
function transitionBlock(L: LayerBuilder, x: Sym, reduction: number, name: string): Sym {
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_bn` });
  x = L.activation(x, 'relu', `${name}_relu`);
  x = L.conv2d(x, { filters: Math.trunc(x.shape[3]! * reduction), kernelSize: 1, useBias: false, name: `${name}_conv` });
  return L.averagePooling2d(x, 2, { strides: 2, name: `${name}_pool` });
}

/** A building block of a dense block: BN-ReLU-Conv1×1 (4·growth) then BN-ReLU-Conv3×3 (growth), concatenated to the input. */
function convBlock(L: LayerBuilder, x: Sym, growthRate: number, name: string): Sym {
  let x1 = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_0_bn` });
  x1 = L.activation(x1, 'relu', `${name}_0_relu`);
  x1 = L.conv2d(x1, { filters: 4 * growthRate, kernelSize: 1, useBias: false, name: `${name}_1_conv` });
  x1 = L.batchNorm(x1, { epsilon: EPSILON, name: `${name}_1_bn` });
  x1 = L.activation(x1, 'relu', `${name}_1_relu`);
  x1 = L.conv2d(x1, { filters: growthRate, kernelSize: 3, padding: 'same', useBias: false, name: `${name}_2_conv` });
  return L.concatenate([x, x1], `${name}_concat`);
}

/** DenseNet with the given numbers of conv blocks in its four dense blocks. */
export function denseNet(blocks: [number, number, number, number], opts: BackboneOptions, name: string): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  let x = L.zeroPadding2d(input, [
    [3, 3],
    [3, 3],
  ]);
  x = L.conv2d(x, { filters: 64, kernelSize: 7, strides: 2, useBias: false, name: 'conv1_conv' });
  x = L.batchNorm(x, { epsilon: EPSILON, name: 'conv1_bn' });
  x = L.activation(x, 'relu', 'conv1_relu');
  x = L.zeroPadding2d(x, [
    [1, 1],
    [1, 1],
  ]);
  x = L.maxPooling2d(x, 3, { strides: 2, name: 'pool1' });

  x = denseBlock(L, x, blocks[0], 'conv2');
  x = transitionBlock(L, x, 0.5, 'pool2');
  x = denseBlock(L, x, blocks[1], 'conv3');
  x = transitionBlock(L, x, 0.5, 'pool3');
  x = denseBlock(L, x, blocks[2], 'conv4');
  x = transitionBlock(L, x, 0.5, 'pool4');
  x = denseBlock(L, x, blocks[3], 'conv5');

  x = L.batchNorm(x, { epsilon: EPSILON, name: 'bn' });
  x = L.activation(x, 'relu', 'relu');
  return finishBackbone(L, input, x, opts, name, { avg: 'avg_pool', max: 'max_pool' });
}

export const denseNet121 = (opts: BackboneOptions) => denseNet([6, 12, 24, 16], opts, 'densenet121');
export const denseNet169 = (opts: BackboneOptions) => denseNet([6, 12, 32, 32], opts, 'densenet169');
export const denseNet201 = (opts: BackboneOptions) => denseNet([6, 12, 48, 32], opts, 'densenet201');
