/**
 * The model registry: one entry per backbone, with its builder, default and minimum input size, the
 * input preprocessing its (Keras ImageNet) weights expect, and where Keras publishes those weights.
 * Names are case-insensitive and may be written with '-', '_' or spaces (`densenet121`,
 * `resnet50_v2`, `Inception-V3`); an unknown name is an error that lists the known ones.
 */
import type * as tf from '@tensorflow/tfjs';
import { MedtrainError } from '../util/errors.js';
import type { BackboneOptions } from './backbone.js';
import { denseNet121, denseNet169, denseNet201, denseNetMini } from './densenet.js';
import { efficientNetB0 } from './efficientnet.js';
import { inceptionResNetV2 } from './inception-resnet-v2.js';
import { inceptionV3 } from './inception-v3.js';
import { MOBILENET_V2_WEIGHT_SIZES, mobileNetV2 } from './mobilenet-v2.js';
import type { PreprocessingMode } from '../core/preprocessing.js';
import { resNet101V2, resNet152V2, resNet50, resNet50V2 } from './resnet.js';
import { xception } from './xception.js';

/** A Keras ImageNet weight file: its standard name, where Keras publishes it, and its MD5 when Keras records one. */
export interface WeightFileRef {
  file: string;
  url: string;
  md5: string | null;
}

export interface ModelSpec {
  /** Canonical name, as keras.applications spells it. */
  name: string;
  family: 'densenet' | 'resnet' | 'inception_v3' | 'inception_resnet_v2' | 'xception' | 'mobilenet_v2' | 'efficientnet';
  build: (opts: BackboneOptions) => tf.LayersModel;
  /** Keras's default input size. */
  inputSize: number;
  /** Keras's minimum input size. */
  minInputSize: number;
  /** How inputs must be preprocessed (see preprocessing.ts); applied by the data pipeline, not the model. */
  preprocessing: PreprocessingMode;
  /** The layer heatmaps explain (Grad-CAM's target): the output of the last convolutional block, by its Keras name. */
  camLayer: string;
  /** The Keras ImageNet weight file for a model without (or with) its top, at this input size; null for a model Keras does not publish. */
  imagenetWeights: ((opts: { inputSize: number; includeTop: boolean }) => WeightFileRef) | null;
}

const GCS = 'https://storage.googleapis.com/tensorflow/keras-applications';

function kerasFile(folder: string, stem: string, md5: [top: string, notop: string] | null, base = GCS) {
  return ({ includeTop }: { includeTop: boolean }): WeightFileRef => {
    const file = `${stem}_weights_tf_dim_ordering_tf_kernels${includeTop ? '' : '_notop'}.h5`;
    return { file, url: `${base}/${folder}/${file}`, md5: md5 ? md5[includeTop ? 0 : 1] : null };
  };
}

export const MODELS: readonly ModelSpec[] = [
  {
    name: 'DenseNet121', family: 'densenet', build: denseNet121, inputSize: 224, minInputSize: 32, preprocessing: 'torch', camLayer: 'relu',
    imagenetWeights: kerasFile('densenet', 'densenet121', ['9d60b8095a5708f2dcce2bca79d332c7', '30ee3e1110167f948a6b9946edeeb738']),
  },
  {
    name: 'DenseNet169', family: 'densenet', build: denseNet169, inputSize: 224, minInputSize: 32, preprocessing: 'torch', camLayer: 'relu',
    imagenetWeights: kerasFile('densenet', 'densenet169', ['d699b8f76981ab1b30698df4c175e90b', 'b8c4d4c20dd625c148057b9ff1c1176b']),
  },
  {
    name: 'DenseNet201', family: 'densenet', build: denseNet201, inputSize: 224, minInputSize: 32, preprocessing: 'torch', camLayer: 'relu',
    imagenetWeights: kerasFile('densenet', 'densenet201', ['1ceb130c1ea1b78c3bf6114dbdfd8807', 'c13680b51ded0fb44dff2d8f86ac8bb1']),
  },
  {
    name: 'ResNet50V2', family: 'resnet', build: resNet50V2, inputSize: 224, minInputSize: 32, preprocessing: 'tf', camLayer: 'post_relu',
    imagenetWeights: kerasFile('resnet', 'resnet50v2', ['3ef43a0b657b3be2300d5770ece849e0', 'fac2f116257151a9d068a22e544a4917']),
  },
  {
    name: 'ResNet101V2', family: 'resnet', build: resNet101V2, inputSize: 224, minInputSize: 32, preprocessing: 'tf', camLayer: 'post_relu',
    imagenetWeights: kerasFile('resnet', 'resnet101v2', ['6343647c601c52e1368623803854d971', 'c0ed64b8031c3730f411d2eb4eea35b5']),
  },
  {
    name: 'ResNet152V2', family: 'resnet', build: resNet152V2, inputSize: 224, minInputSize: 32, preprocessing: 'tf', camLayer: 'post_relu',
    imagenetWeights: kerasFile('resnet', 'resnet152v2', ['a49b44d1979771252814e80f8ec446f9', 'ed17cf2e0169df9d443503ef94b23b33']),
  },
  {
    name: 'ResNet50', family: 'resnet', build: resNet50, inputSize: 224, minInputSize: 32, preprocessing: 'caffe', camLayer: 'conv5_block3_out',
    imagenetWeights: kerasFile('resnet', 'resnet50', ['2cb95161c43110f7111970584f804107', '4d473c1dd8becc155b73f8504c6f6626']),
  },
  {
    name: 'InceptionV3', family: 'inception_v3', build: inceptionV3, inputSize: 299, minInputSize: 75, preprocessing: 'tf', camLayer: 'mixed10',
    imagenetWeights: kerasFile('inception_v3', 'inception_v3', ['9a0d58056eeedaa3f26cb7ebd46da564', 'bcbd6486424b2319ff4ef7d526e38f63']),
  },
  {
    name: 'InceptionResNetV2', family: 'inception_resnet_v2', build: inceptionResNetV2, inputSize: 299, minInputSize: 75, preprocessing: 'tf', camLayer: 'conv_7b_ac',
    imagenetWeights: kerasFile('inception_resnet_v2', 'inception_resnet_v2', ['e693bd0210a403b3192acc6073ad2e96', 'd19885ff4a710c122648d3b5c3b684e4']),
  },
  {
    name: 'Xception', family: 'xception', build: xception, inputSize: 299, minInputSize: 71, preprocessing: 'tf', camLayer: 'block14_sepconv2_act',
    imagenetWeights: kerasFile('xception', 'xception', ['0a58e3b7378bc2990ea3b43d5981f1f6', 'b0042744bf5b25fce3cb969f33bebb97']),
  },
  {
    name: 'MobileNetV2', family: 'mobilenet_v2', build: mobileNetV2, inputSize: 224, minInputSize: 32, preprocessing: 'tf', camLayer: 'out_relu',
    imagenetWeights: ({ inputSize, includeTop }) => {
      // Keras publishes one file per input size in this list and loads the 224 one for any other size.
      const rows = MOBILENET_V2_WEIGHT_SIZES.includes(inputSize) ? inputSize : 224;
      const file = `mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_${rows}${includeTop ? '' : '_no_top'}.h5`;
      return { file, url: `${GCS}/mobilenet_v2/${file}`, md5: null };
    },
  },
  {
    name: 'EfficientNetB0', family: 'efficientnet', build: efficientNetB0, inputSize: 224, minInputSize: 32, preprocessing: 'none', camLayer: 'top_activation',
    imagenetWeights: ({ includeTop }) => {
      const file = `efficientnetb0${includeTop ? '' : '_notop'}.h5`;
      return { file, url: `https://storage.googleapis.com/keras-applications/${file}`, md5: includeTop ? '902e53a9f72be733fc0bcb005b3ebbac' : '50bc09e76180e00e4465e1a485ddc09d' };
    },
  },
  {
    name: 'DenseNetMini', family: 'densenet', build: denseNetMini, inputSize: 64, minInputSize: 32, preprocessing: 'torch', camLayer: 'relu',
    imagenetWeights: null,
  },
];

const normalise = (name: string) => name.toLowerCase().replace(/[-_\s]/g, '');
const BY_KEY = new Map(MODELS.map((m) => [normalise(m.name), m]));

/** The names of every registered model, in registry order. */
export function modelNames(): string[] {
  return MODELS.map((m) => m.name);
}

/** The registry entry for a model name (case-insensitive); an unknown name lists the known ones. */
export function getModelSpec(name: string): ModelSpec {
  const spec = BY_KEY.get(normalise(String(name ?? '')));
  if (!spec) {
    throw new MedtrainError(`unknown model '${name}'`, {
      code: 'unknown-model',
      value: name,
      hint: `use one of ${modelNames().join(', ')} (case-insensitive)`,
    });
  }
  return spec;
}

/** Check an input size against the model's minimum; returns it. */
export function checkInputSize(spec: ModelSpec, inputSize: number): number {
  if (!Number.isInteger(inputSize) || inputSize < spec.minInputSize) {
    throw new MedtrainError(`${spec.name} needs an integer input size of at least ${spec.minInputSize} pixels`, {
      code: 'bad-input-size',
      value: inputSize,
      hint: `Keras's default for ${spec.name} is ${spec.inputSize}`,
    });
  }
  return inputSize;
}

/** Build a registered backbone (Keras's `include_top=False` unless asked) at a checked input size. */
export function buildBackbone(name: string, opts: BackboneOptions): tf.LayersModel {
  const spec = getModelSpec(name);
  checkInputSize(spec, opts.inputSize);
  return spec.build(opts);
}

export interface ModelInfo {
  name: string;
  family: ModelSpec['family'];
  /** Parameters without the top (Keras's `include_top=False`). */
  params: number;
  /** Keras's default input size. */
  inputSize: number;
  minInputSize: number;
  preprocessing: PreprocessingMode;
  /** The Keras ImageNet weight file (without top, at the default size) that `weights: 'imagenet'` looks for; null when there is none. */
  imagenetWeights: string | null;
}

/** Every registered model with its parameter count (each built once, with unset weights, then freed). */
export function describeModels(): ModelInfo[] {
  return MODELS.map((spec) => {
    const model = spec.build({ inputSize: spec.inputSize });
    const params = model.countParams();
    model.dispose();
    return {
      name: spec.name,
      family: spec.family,
      params,
      inputSize: spec.inputSize,
      minInputSize: spec.minInputSize,
      preprocessing: spec.preprocessing,
      imagenetWeights: spec.imagenetWeights?.({ inputSize: spec.inputSize, includeTop: false }).file ?? null,
    };
  });
}
