/**
 * InceptionV3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016),
 * layer for layer as keras.applications.inception_v3 builds it: bias-free convolutions followed by
 * BatchNormalization without scale (epsilon 1e-3), Keras's automatic layer names, and the mixed0..mixed10
 * concatenations, so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

/** Conv (no bias) → BN (no scale) → ReLU, as Keras's `conv2d_bn`. */
function conv2dBn(L: LayerBuilder, x: Sym, filters: number, rows: number, cols: number, opts: { padding?: 'same' | 'valid'; strides?: number; name?: string } = {}): Sym {
  const { padding = 'same', strides = 1, name } = opts;
  x = L.conv2d(x, { filters, kernelSize: [rows, cols], strides, padding, useBias: false, ...(name && { name: `${name}_conv` }) });
  x = L.batchNorm(x, { scale: false, ...(name && { name: `${name}_bn` }) });
  return L.activation(x, 'relu', name);
}

const avgPool3 = (L: LayerBuilder, x: Sym) => L.averagePooling2d(x, 3, { strides: 1, padding: 'same' });

/** The 35×35 module (mixed0-2): 1×1, 5×5, double 3×3 and pooled branches. */
function inceptionA(L: LayerBuilder, x: Sym, poolFilters: number, name: string): Sym {
  const branch1x1 = conv2dBn(L, x, 64, 1, 1);
  let branch5x5 = conv2dBn(L, x, 48, 1, 1);
  branch5x5 = conv2dBn(L, branch5x5, 64, 5, 5);
  let branch3x3dbl = conv2dBn(L, x, 64, 1, 1);
  branch3x3dbl = conv2dBn(L, branch3x3dbl, 96, 3, 3);
  branch3x3dbl = conv2dBn(L, branch3x3dbl, 96, 3, 3);
  const branchPool = conv2dBn(L, avgPool3(L, x), poolFilters, 1, 1);
  return L.concatenate([branch1x1, branch5x5, branch3x3dbl, branchPool], name);
}

/** The 35→17 grid reduction (mixed3). */
function reductionA(L: LayerBuilder, x: Sym): Sym {
  const branch3x3 = conv2dBn(L, x, 384, 3, 3, { strides: 2, padding: 'valid' });
  let branch3x3dbl = conv2dBn(L, x, 64, 1, 1);
  branch3x3dbl = conv2dBn(L, branch3x3dbl, 96, 3, 3);
  branch3x3dbl = conv2dBn(L, branch3x3dbl, 96, 3, 3, { strides: 2, padding: 'valid' });
  const branchPool = L.maxPooling2d(x, 3, { strides: 2 });
  return L.concatenate([branch3x3, branch3x3dbl, branchPool], 'mixed3');
}

/** The 17×17 module (mixed4-7) with factorised 7×7 convolutions of width `c`. */
function inceptionB(L: LayerBuilder, x: Sym, c: number, name: string): Sym {
  const branch1x1 = conv2dBn(L, x, 192, 1, 1);
  let branch7x7 = conv2dBn(L, x, c, 1, 1);
  branch7x7 = conv2dBn(L, branch7x7, c, 1, 7);
  branch7x7 = conv2dBn(L, branch7x7, 192, 7, 1);
  let branch7x7dbl = conv2dBn(L, x, c, 1, 1);
  branch7x7dbl = conv2dBn(L, branch7x7dbl, c, 7, 1);
  branch7x7dbl = conv2dBn(L, branch7x7dbl, c, 1, 7);
  branch7x7dbl = conv2dBn(L, branch7x7dbl, c, 7, 1);
  branch7x7dbl = conv2dBn(L, branch7x7dbl, 192, 1, 7);
  const branchPool = conv2dBn(L, avgPool3(L, x), 192, 1, 1);
  return L.concatenate([branch1x1, branch7x7, branch7x7dbl, branchPool], name);
}

/** The 17→8 grid reduction (mixed8). */
function reductionB(L: LayerBuilder, x: Sym): Sym {
  let branch3x3 = conv2dBn(L, x, 192, 1, 1);
  branch3x3 = conv2dBn(L, branch3x3, 320, 3, 3, { strides: 2, padding: 'valid' });
  let branch7x7x3 = conv2dBn(L, x, 192, 1, 1);
  branch7x7x3 = conv2dBn(L, branch7x7x3, 192, 1, 7);
  branch7x7x3 = conv2dBn(L, branch7x7x3, 192, 7, 1);
  branch7x7x3 = conv2dBn(L, branch7x7x3, 192, 3, 3, { strides: 2, padding: 'valid' });
  const branchPool = L.maxPooling2d(x, 3, { strides: 2 });
  return L.concatenate([branch3x3, branch7x7x3, branchPool], 'mixed8');
}

/** The 8×8 module (mixed9, mixed10) with expanded 1×3 / 3×1 filter banks. */
function inceptionC(L: LayerBuilder, x: Sym, i: number): Sym {
  const branch1x1 = conv2dBn(L, x, 320, 1, 1);
  let branch3x3 = conv2dBn(L, x, 384, 1, 1);
  const branch3x3a = conv2dBn(L, branch3x3, 384, 1, 3);
  const branch3x3b = conv2dBn(L, branch3x3, 384, 3, 1);
  branch3x3 = L.concatenate([branch3x3a, branch3x3b], `mixed9_${i}`);
  let branch3x3dbl = conv2dBn(L, x, 448, 1, 1);
  branch3x3dbl = conv2dBn(L, branch3x3dbl, 384, 3, 3);
  const branch3x3dblA = conv2dBn(L, branch3x3dbl, 384, 1, 3);
  const branch3x3dblB = conv2dBn(L, branch3x3dbl, 384, 3, 1);
  branch3x3dbl = L.concatenate([branch3x3dblA, branch3x3dblB]);
  const branchPool = conv2dBn(L, avgPool3(L, x), 192, 1, 1);
  return L.concatenate([branch1x1, branch3x3, branch3x3dbl, branchPool], `mixed${9 + i}`);
}

export function inceptionV3(opts: BackboneOptions): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  let x = conv2dBn(L, input, 32, 3, 3, { strides: 2, padding: 'valid' });
  x = conv2dBn(L, x, 32, 3, 3, { padding: 'valid' });
  x = conv2dBn(L, x, 64, 3, 3);
  x = L.maxPooling2d(x, 3, { strides: 2 });
  x = conv2dBn(L, x, 80, 1, 1, { padding: 'valid' });
  x = conv2dBn(L, x, 192, 3, 3, { padding: 'valid' });
  x = L.maxPooling2d(x, 3, { strides: 2 });

  x = inceptionA(L, x, 32, 'mixed0');
  x = inceptionA(L, x, 64, 'mixed1');
  x = inceptionA(L, x, 64, 'mixed2');
  x = reductionA(L, x);
  x = inceptionB(L, x, 128, 'mixed4');
  x = inceptionB(L, x, 160, 'mixed5');
  x = inceptionB(L, x, 160, 'mixed6');
  x = inceptionB(L, x, 192, 'mixed7');
  x = reductionB(L, x);
  x = inceptionC(L, x, 0);
  x = inceptionC(L, x, 1);
  return finishBackbone(L, input, x, opts, 'inception_v3');
}
