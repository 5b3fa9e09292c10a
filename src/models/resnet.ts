/**
 * ResNet50V2 / 101V2 / 152V2 (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016:
 * pre-activation residual units) and ResNet50 (v1, He et al. 2015), layer for layer as
 * keras.applications.resnet builds them: the same names, order, BN epsilon (1.001e-5) and paddings,
 * so Keras weight files load into them. `stack1`/`block1` are v1's units, `stack2`/`block2` v2's.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import type { LayerBuilder, Sym } from './layers.js';

const EPSILON = 1.001e-5;

/** A v1 residual unit (post-activation bottleneck). */
function block1(L: LayerBuilder, x: Sym, filters: number, name: string, opts: { kernelSize?: number; stride?: number; convShortcut?: boolean } = {}): Sym {
  const { kernelSize = 3, stride = 1, convShortcut = true } = opts;
  let shortcut = x;
  if (convShortcut) {
    shortcut = L.conv2d(x, { filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` });
    shortcut = L.batchNorm(shortcut, { epsilon: EPSILON, name: `${name}_0_bn` });
  }
  x = L.conv2d(x, { filters, kernelSize: 1, strides: stride, name: `${name}_1_conv` });
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_1_bn` });
  x = L.activation(x, 'relu', `${name}_1_relu`);
  x = L.conv2d(x, { filters, kernelSize, padding: 'same', name: `${name}_2_conv` });
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_2_bn` });
  x = L.activation(x, 'relu', `${name}_2_relu`);
  x = L.conv2d(x, { filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` });
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_3_bn` });
  x = L.add([shortcut, x], `${name}_add`);
  return L.activation(x, 'relu', `${name}_out`);
}

/** A stack of v1 units; the first one downsamples by `stride1` and projects the shortcut. */
function stack1(L: LayerBuilder, x: Sym, filters: number, blocks: number, name: string, stride1 = 2): Sym {
  x = block1(L, x, filters, `${name}_block1`, { stride: stride1 });
  for (let i = 2; i <= blocks; i++) x = block1(L, x, filters, `${name}_block${i}`, { convShortcut: false });
  return x;
}

/** A v2 residual unit (pre-activation bottleneck: BN-ReLU before the convolutions). */
function block2(L: LayerBuilder, x: Sym, filters: number, name: string, opts: { kernelSize?: number; stride?: number; convShortcut?: boolean } = {}): Sym {
  const { kernelSize = 3, stride = 1, convShortcut = false } = opts;
  let preact = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_preact_bn` });
  preact = L.activation(preact, 'relu', `${name}_preact_relu`);
  let shortcut: Sym;
  if (convShortcut) shortcut = L.conv2d(preact, { filters: 4 * filters, kernelSize: 1, strides: stride, name: `${name}_0_conv` });
  else shortcut = stride > 1 ? L.maxPooling2d(x, 1, { strides: stride }) : x;
  x = L.conv2d(preact, { filters, kernelSize: 1, strides: 1, useBias: false, name: `${name}_1_conv` });
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_1_bn` });
  x = L.activation(x, 'relu', `${name}_1_relu`);
  x = L.zeroPadding2d(
    x,
    [
      [1, 1],
      [1, 1],
    ],
    `${name}_2_pad`,
  );
  x = L.conv2d(x, { filters, kernelSize, strides: stride, useBias: false, name: `${name}_2_conv` });
  x = L.batchNorm(x, { epsilon: EPSILON, name: `${name}_2_bn` });
  x = L.activation(x, 'relu', `${name}_2_relu`);
  x = L.conv2d(x, { filters: 4 * filters, kernelSize: 1, name: `${name}_3_conv` });
  return L.add([shortcut, x], `${name}_out`);
}

/** A stack of v2 units; the last one downsamples by `stride1` (v2 downsamples at the end of a stack). */
function stack2(L: LayerBuilder, x: Sym, filters: number, blocks: number, name: string, stride1 = 2): Sym {
  x = block2(L, x, filters, `${name}_block1`, { convShortcut: true });
  for (let i = 2; i < blocks; i++) x = block2(L, x, filters, `${name}_block${i}`);
  return block2(L, x, filters, `${name}_block${blocks}`, { stride: stride1 });
}

/** The ResNet trunk shared by v1 and v2: the 7×7 stem, the stacks, and v2's final BN-ReLU. */
function resNet(stackFn: (L: LayerBuilder, x: Sym) => Sym, preact: boolean, useBias: boolean, opts: BackboneOptions, name: string): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  let x = L.zeroPadding2d(
    input,
    [
      [3, 3],
      [3, 3],
    ],
    'conv1_pad',
  );
  x = L.conv2d(x, { filters: 64, kernelSize: 7, strides: 2, useBias, name: 'conv1_conv' });
  if (!preact) {
    x = L.batchNorm(x, { epsilon: EPSILON, name: 'conv1_bn' });
    x = L.activation(x, 'relu', 'conv1_relu');
  }
  x = L.zeroPadding2d(
    x,
    [
      [1, 1],
      [1, 1],
    ],
    'pool1_pad',
  );
  x = L.maxPooling2d(x, 3, { strides: 2, name: 'pool1_pool' });
  x = stackFn(L, x);
  if (preact) {
    x = L.batchNorm(x, { epsilon: EPSILON, name: 'post_bn' });
    x = L.activation(x, 'relu', 'post_relu');
  }
  return finishBackbone(L, input, x, opts, name, { avg: 'avg_pool', max: 'max_pool' });
}

function resNetV2(blocks: [number, number, number, number], opts: BackboneOptions, name: string): tf.LayersModel {
  const stacks = (L: LayerBuilder, x: Sym) => {
    x = stack2(L, x, 64, blocks[0], 'conv2');
    x = stack2(L, x, 128, blocks[1], 'conv3');
    x = stack2(L, x, 256, blocks[2], 'conv4');
    return stack2(L, x, 512, blocks[3], 'conv5', 1);
  };
  return resNet(stacks, true, true, opts, name);
}

export const resNet50V2 = (opts: BackboneOptions) => resNetV2([3, 4, 6, 3], opts, 'resnet50v2');
export const resNet101V2 = (opts: BackboneOptions) => resNetV2([3, 4, 23, 3], opts, 'resnet101v2');
export const resNet152V2 = (opts: BackboneOptions) => resNetV2([3, 8, 36, 3], opts, 'resnet152v2');

/** ResNet50 v1 (Keras 'caffe' preprocessing), the architecture torchvision's resnet50 also implements. */
export function resNet50(opts: BackboneOptions): tf.LayersModel {
  const stacks = (L: LayerBuilder, x: Sym) => {
    x = stack1(L, x, 64, 3, 'conv2', 1);
    x = stack1(L, x, 128, 4, 'conv3');
    x = stack1(L, x, 256, 6, 'conv4');
    return stack1(L, x, 512, 3, 'conv5');
  };
  return resNet(stacks, false, true, opts, 'resnet50');
}
