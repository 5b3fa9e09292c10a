/**
 * Xception (Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017),
 * layer for layer as keras.applications.xception builds it: the entry, middle and exit flows of
 * bias-free separable convolutions with BN (epsilon 1e-3), the strided 1×1 residual projections
 * (left to Keras's automatic names), so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

/** ReLU (unless first) → SeparableConv → BN, named `${prefix}_sepconvN`. */
function sepConvBn(L: LayerBuilder, x: Sym, filters: number, prefix: string, n: number, relu = true): Sym {
  if (relu) x = L.activation(x, 'relu', `${prefix}_sepconv${n}_act`);
  x = L.separableConv2d(x, { filters, kernelSize: 3, padding: 'same', useBias: false, name: `${prefix}_sepconv${n}` });
  return L.batchNorm(x, { name: `${prefix}_sepconv${n}_bn` });
}

/** A strided 1×1 projection of the residual, with BN. */
function residualProjection(L: LayerBuilder, x: Sym, filters: number): Sym {
  const r = L.conv2d(x, { filters, kernelSize: 1, strides: 2, padding: 'same', useBias: false });
  return L.batchNorm(r);
}

/** An entry/exit-flow block: two separable convs, 3×3 max pooling with stride 2, plus the projected residual. */
function downsampleBlock(L: LayerBuilder, x: Sym, filters: [number, number], block: number, firstRelu = true): Sym {
  const residual = residualProjection(L, x, filters[1]);
  const prefix = `block${block}`;
  x = sepConvBn(L, x, filters[0], prefix, 1, firstRelu);
  x = sepConvBn(L, x, filters[1], prefix, 2);
  x = L.maxPooling2d(x, 3, { strides: 2, padding: 'same', name: `${prefix}_pool` });
  return L.add([x, residual]);
}

/** A middle-flow block: three ReLU-SeparableConv-BN units with an identity residual. */
function middleBlock(L: LayerBuilder, x: Sym, block: number): Sym {
  const residual = x;
  for (let n = 1; n <= 3; n++) x = sepConvBn(L, x, 728, `block${block}`, n);
  return L.add([x, residual]);
}

export function xception(opts: BackboneOptions): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  // Entry flow.
  let x = L.conv2d(input, { filters: 32, kernelSize: 3, strides: 2, useBias: false, name: 'block1_conv1' });
  x = L.batchNorm(x, { name: 'block1_conv1_bn' });
  x = L.activation(x, 'relu', 'block1_conv1_act');
  x = L.conv2d(x, { filters: 64, kernelSize: 3, useBias: false, name: 'block1_conv2' });
  x = L.batchNorm(x, { name: 'block1_conv2_bn' });
  x = L.activation(x, 'relu', 'block1_conv2_act');

  // block2 has no activation before its first separable conv.
  x = downsampleBlock(L, x, [128, 128], 2, false);
  x = downsampleBlock(L, x, [256, 256], 3);
  x = downsampleBlock(L, x, [728, 728], 4);

  // Middle flow: eight identity blocks.
  for (let i = 0; i < 8; i++) x = middleBlock(L, x, i + 5);

  // Exit flow.
  x = downsampleBlock(L, x, [728, 1024], 13);
  x = L.separableConv2d(x, { filters: 1536, kernelSize: 3, padding: 'same', useBias: false, name: 'block14_sepconv1' });
  x = L.batchNorm(x, { name: 'block14_sepconv1_bn' });
  x = L.activation(x, 'relu', 'block14_sepconv1_act');
  x = L.separableConv2d(x, { filters: 2048, kernelSize: 3, padding: 'same', useBias: false, name: 'block14_sepconv2' });
  x = L.batchNorm(x, { name: 'block14_sepconv2_bn' });
  x = L.activation(x, 'relu', 'block14_sepconv2_act');
  return finishBackbone(L, input, x, opts, 'xception');
}
