/**
 * InceptionResNetV2 (Szegedy et al., "Inception-v4, Inception-ResNet and the Impact of Residual
 * Connections on Learning", AAAI 2017), layer for layer as keras.applications.inception_resnet_v2
 * builds it: bias-free convolutions with scale-free BN (epsilon 1e-3), the block35 / block17 / block8
 * residual units whose residual branch is scaled by a serialisable CustomScaleLayer, and Keras's
 * layer names, so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

interface ConvBnOptions {
  strides?: number;
  padding?: 'same' | 'valid';
  activation?: 'relu' | null;
  useBias?: boolean;
  name?: string;
}

/** Conv → BN (no scale; skipped when the conv has a bias) → activation, as Keras's `conv2d_bn`. */
function conv2dBn(L: LayerBuilder, x: Sym, filters: number, kernelSize: number | [number, number], opts: ConvBnOptions = {}): Sym {
  const { strides = 1, padding = 'same', activation = 'relu', useBias = false, name } = opts;
  x = L.conv2d(x, { filters, kernelSize, strides, padding, useBias, ...(name && { name }) });
  if (!useBias) x = L.batchNorm(x, { scale: false, ...(name && { name: `${name}_bn` }) });
  if (activation) x = L.activation(x, activation, name ? `${name}_ac` : undefined);
  return x;
}

type BlockType = 'block35' | 'block17' | 'block8';

/** An Inception-ResNet unit: branches, concatenated, projected by a 1×1 conv, scaled and added to the input. */
function inceptionResnetBlock(L: LayerBuilder, x: Sym, scale: number, blockType: BlockType, blockIdx: number, activation: 'relu' | null = 'relu'): Sym {
  let branches: Sym[];
  if (blockType === 'block35') {
    const branch0 = conv2dBn(L, x, 32, 1);
    let branch1 = conv2dBn(L, x, 32, 1);
    branch1 = conv2dBn(L, branch1, 32, 3);
    let branch2 = conv2dBn(L, x, 32, 1);
    branch2 = conv2dBn(L, branch2, 48, 3);
    branch2 = conv2dBn(L, branch2, 64, 3);
    branches = [branch0, branch1, branch2];
  } else if (blockType === 'block17') {
    const branch0 = conv2dBn(L, x, 192, 1);
    let branch1 = conv2dBn(L, x, 128, 1);
    branch1 = conv2dBn(L, branch1, 160, [1, 7]);
    branch1 = conv2dBn(L, branch1, 192, [7, 1]);
    branches = [branch0, branch1];
  } else {
    const branch0 = conv2dBn(L, x, 192, 1);
    let branch1 = conv2dBn(L, x, 192, 1);
    branch1 = conv2dBn(L, branch1, 224, [1, 3]);
    branch1 = conv2dBn(L, branch1, 256, [3, 1]);
    branches = [branch0, branch1];
  }
  const blockName = `${blockType}_${blockIdx}`;
  const mixed = L.concatenate(branches, `${blockName}_mixed`);
  const up = conv2dBn(L, mixed, x.shape[3]!, 1, { activation: null, useBias: true, name: `${blockName}_conv` });
  x = L.customScale([x, up], scale);
  if (activation) x = L.activation(x, activation, `${blockName}_ac`);
  return x;
}

export function inceptionResNetV2(opts: BackboneOptions): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  // Stem.
  let x = conv2dBn(L, input, 32, 3, { strides: 2, padding: 'valid' });
  x = conv2dBn(L, x, 32, 3, { padding: 'valid' });
  x = conv2dBn(L, x, 64, 3);
  x = L.maxPooling2d(x, 3, { strides: 2 });
  x = conv2dBn(L, x, 80, 1, { padding: 'valid' });
  x = conv2dBn(L, x, 192, 3, { padding: 'valid' });
  x = L.maxPooling2d(x, 3, { strides: 2 });

  // Mixed 5b (Inception-A block): 35 × 35 × 320.
  const branch0 = conv2dBn(L, x, 96, 1);
  let branch1 = conv2dBn(L, x, 48, 1);
  branch1 = conv2dBn(L, branch1, 64, 5);
  let branch2 = conv2dBn(L, x, 64, 1);
  branch2 = conv2dBn(L, branch2, 96, 3);
  branch2 = conv2dBn(L, branch2, 96, 3);
  let branchPool = L.averagePooling2d(x, 3, { strides: 1, padding: 'same' });
  branchPool = conv2dBn(L, branchPool, 64, 1);
  x = L.concatenate([branch0, branch1, branch2, branchPool], 'mixed_5b');

  // 10 × block35 (Inception-ResNet-A): 35 × 35 × 320.
  for (let i = 1; i <= 10; i++) x = inceptionResnetBlock(L, x, 0.17, 'block35', i);

  // Mixed 6a (Reduction-A): 17 × 17 × 1088.
  {
    const b0 = conv2dBn(L, x, 384, 3, { strides: 2, padding: 'valid' });
    let b1 = conv2dBn(L, x, 256, 1);
    b1 = conv2dBn(L, b1, 256, 3);
    b1 = conv2dBn(L, b1, 384, 3, { strides: 2, padding: 'valid' });
    const bp = L.maxPooling2d(x, 3, { strides: 2, padding: 'valid' });
    x = L.concatenate([b0, b1, bp], 'mixed_6a');
  }

  // 20 × block17 (Inception-ResNet-B): 17 × 17 × 1088.
  for (let i = 1; i <= 20; i++) x = inceptionResnetBlock(L, x, 0.1, 'block17', i);

  // Mixed 7a (Reduction-B): 8 × 8 × 2080.
  {
    let b0 = conv2dBn(L, x, 256, 1);
    b0 = conv2dBn(L, b0, 384, 3, { strides: 2, padding: 'valid' });
    let b1 = conv2dBn(L, x, 256, 1);
    b1 = conv2dBn(L, b1, 288, 3, { strides: 2, padding: 'valid' });
    let b2 = conv2dBn(L, x, 256, 1);
    b2 = conv2dBn(L, b2, 288, 3);
    b2 = conv2dBn(L, b2, 320, 3, { strides: 2, padding: 'valid' });
    const bp = L.maxPooling2d(x, 3, { strides: 2, padding: 'valid' });
    x = L.concatenate([b0, b1, b2, bp], 'mixed_7a');
  }

  // 10 × block8 (Inception-ResNet-C): 8 × 8 × 2080; the last one without activation.
  for (let i = 1; i <= 9; i++) x = inceptionResnetBlock(L, x, 0.2, 'block8', i);
  x = inceptionResnetBlock(L, x, 1.0, 'block8', 10, null);

  // Final convolution block: 8 × 8 × 1536.
  x = conv2dBn(L, x, 1536, 1, { name: 'conv_7b' });
  return finishBackbone(L, input, x, opts, 'inception_resnet_v2');
}
