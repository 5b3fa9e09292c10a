/**
 * EfficientNetB0 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
 * Networks", ICML 2019), layer for layer as keras.applications.efficientnet builds it: the in-model
 * input normalisation (Rescaling 1/255 → Normalization, so it takes pixels in [0, 255]), MBConv blocks
 * with squeeze-and-excitation and swish, stochastic depth before each identity add, BN epsilon 1e-3,
 * so Keras weight files load into it.
 */
import type * as tf from '@tensorflow/tfjs';
import { builderFor, finishBackbone, type BackboneOptions } from './backbone.js';
import { correctPad, type LayerBuilder, type Sym } from './layers.js';

interface BlockArgs {
  kernelSize: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  strides: number;
  seRatio: number;
}

const B0_BLOCKS: BlockArgs[] = [
  { kernelSize: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expandRatio: 1, strides: 1, seRatio: 0.25 },
  { kernelSize: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expandRatio: 6, strides: 1, seRatio: 0.25 },
  { kernelSize: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expandRatio: 6, strides: 2, seRatio: 0.25 },
  { kernelSize: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expandRatio: 6, strides: 1, seRatio: 0.25 },
];

/** ImageNet channel standard deviations; Keras's weights need their square roots re-applied (see below). */
const IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225];
const DROP_CONNECT_RATE = 0.2;
const ACTIVATION = 'swish';

/** Keras's EfficientNet initialisers: VarianceScaling(2, fan_out, truncated normal) for convolutions. */
const convInit = (L: LayerBuilder) => L.varianceScaling(2.0, 'fanOut', 'truncatedNormal');

/** An MBConv block: expand 1×1, depthwise k×k, squeeze-and-excitation, project 1×1, stochastic depth + identity. */
function block(L: LayerBuilder, inputs: Sym, dropRate: number, name: string, a: BlockArgs): Sym {
  const filters = a.filtersIn * a.expandRatio;
  let x = inputs;
  if (a.expandRatio !== 1) {
    x = L.conv2d(x, { filters, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(L), name: `${name}expand_conv` });
    x = L.batchNorm(x, { name: `${name}expand_bn` });
    x = L.activation(x, ACTIVATION, `${name}expand_activation`);
  }
  let pad: 'same' | 'valid' = 'same';
  if (a.strides === 2) {
    x = L.zeroPadding2d(x, correctPad(x, a.kernelSize), `${name}dwconv_pad`);
    pad = 'valid';
  }
  x = L.depthwiseConv2d(x, { kernelSize: a.kernelSize, strides: a.strides, padding: pad, useBias: false, depthwiseInitializer: convInit(L), name: `${name}dwconv` });
  x = L.batchNorm(x, { name: `${name}bn` });
  x = L.activation(x, ACTIVATION, `${name}activation`);

  if (a.seRatio > 0 && a.seRatio <= 1) {
    const filtersSe = Math.max(1, Math.trunc(a.filtersIn * a.seRatio));
    let se = L.globalAveragePooling2d(x, `${name}se_squeeze`);
    se = L.reshape(se, [1, 1, filters], `${name}se_reshape`);
    se = L.conv2d(se, { filters: filtersSe, kernelSize: 1, padding: 'same', activation: ACTIVATION, kernelInitializer: convInit(L), name: `${name}se_reduce` });
    se = L.conv2d(se, { filters, kernelSize: 1, padding: 'same', activation: 'sigmoid', kernelInitializer: convInit(L), name: `${name}se_expand` });
    x = L.multiply([x, se], `${name}se_excite`);
  }

  x = L.conv2d(x, { filters: a.filtersOut, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(L), name: `${name}project_conv` });
  x = L.batchNorm(x, { name: `${name}project_bn` });
  if (a.strides === 1 && a.filtersIn === a.filtersOut) {
    if (dropRate > 0) x = L.dropout(x, dropRate, { noiseShape: [null, 1, 1, 1], name: `${name}drop` });
    x = L.add([x, inputs], `${name}add`);
  }
  return x;
}

export function efficientNetB0(opts: BackboneOptions): tf.LayersModel {
  const L = builderFor(opts);
  const input = L.input(opts.inputSize);
  let x = L.rescaling(input, 1 / 255);
  x = L.normalization(x);
  // Keras's ImageNet weights hold the standard deviations where variances belong; Keras rescales by
  // 1/sqrt(std) when it builds the model for them, and so do we.
  if (opts.imagenetWeights) x = L.rescaling(x, IMAGENET_STDDEV_RGB.map((s) => 1 / Math.sqrt(s)));
  x = L.zeroPadding2d(x, correctPad(x, 3), 'stem_conv_pad');
  x = L.conv2d(x, { filters: 32, kernelSize: 3, strides: 2, padding: 'valid', useBias: false, kernelInitializer: convInit(L), name: 'stem_conv' });
  x = L.batchNorm(x, { name: 'stem_bn' });
  x = L.activation(x, ACTIVATION, 'stem_activation');

  const total = B0_BLOCKS.reduce((s, a) => s + a.repeats, 0);
  let b = 0;
  B0_BLOCKS.forEach((args, i) => {
    for (let j = 0; j < args.repeats; j++) {
      const a = j > 0 ? { ...args, strides: 1, filtersIn: args.filtersOut } : args;
      x = block(L, x, (DROP_CONNECT_RATE * b) / total, `block${i + 1}${String.fromCharCode(97 + j)}_`, a);
      b++;
    }
  });

  x = L.conv2d(x, { filters: 1280, kernelSize: 1, padding: 'same', useBias: false, kernelInitializer: convInit(L), name: 'top_conv' });
  x = L.batchNorm(x, { name: 'top_bn' });
  x = L.activation(x, ACTIVATION, 'top_activation');
  return finishBackbone(L, input, x, opts, 'efficientnetb0', {
    avg: 'avg_pool',
    max: 'max_pool',
    beforeTop: (t) => L.dropout(t, 0.2, { name: 'top_dropout' }),
  });
}
