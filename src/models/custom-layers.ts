/**
 * Layers keras.applications uses that tfjs-layers lacks, each registered with tfjs's serialisation
 * so a model saved in the tfjs layers format (model.json) loads back with them:
 *  - CustomScaleLayer: InceptionResNetV2's scaled residual, inputs[0] + inputs[1] * scale;
 *  - KerasNormalization: Keras's Normalization (EfficientNet's stem), (x - mean) / max(sqrt(var), 1e-7),
 *    with Keras's three non-trainable weights mean, variance and count;
 *  - ChannelRescaling: Keras's Rescaling with a per-channel scale (EfficientNet's ImageNet fix);
 *  - SeededDropout: dropout whose masks come from a seeded stream (tfjs's own Dropout draws from
 *    an unseeded global random source, and repeats one mask for ever with a seed), so training is repeatable.
 * Importing this module registers them.
 */
import * as tf from '@tensorflow/tfjs';
import { canRunNativeBatchNorm, nativeBatchNormTraining } from '../backend/tf-native.js';

type LayerArgs = ConstructorParameters<typeof tf.layers.Layer>[0];
type Kwargs = Record<string, unknown>;

function pair(inputs: tf.Tensor | tf.Tensor[]): [tf.Tensor, tf.Tensor] {
  if (!Array.isArray(inputs) || inputs.length !== 2) throw new Error('expected a list of two inputs');
  return [inputs[0]!, inputs[1]!];
}

export class CustomScaleLayer extends tf.layers.Layer {
  static readonly className = 'CustomScaleLayer';
  readonly scale: number;

  constructor(args: LayerArgs & { scale: number }) {
    super(args);
    this.scale = args.scale;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return (inputShape as tf.Shape[])[0]!;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, up] = pair(inputs);
      return tf.add(x, tf.mul(up, this.scale));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

/** Keras's backend epsilon, the floor of Normalization's standard deviation. */
const KERAS_EPSILON = 1e-7;

export class KerasNormalization extends tf.layers.Layer {
  static readonly className = 'KerasNormalization';
  private mean!: tf.LayerVariable;
  private variance!: tf.LayerVariable;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = inputShape as tf.Shape;
    const channels = shape[shape.length - 1];
    if (channels == null) throw new Error(`${this.name}: the channel axis must have a known size`);
    this.mean = this.addWeight('mean', [channels], 'float32', tf.initializers.zeros(), undefined, false);
    this.variance = this.addWeight('variance', [channels], 'float32', tf.initializers.ones(), undefined, false);
    // Keras keeps the number of samples adapted on; unused in the forward pass.
    this.addWeight('count', [], 'float32', tf.initializers.zeros(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.div(tf.sub(x, this.mean.read()), tf.maximum(tf.sqrt(this.variance.read()), KERAS_EPSILON));
    });
  }
}

export class ChannelRescaling extends tf.layers.Layer {
  static readonly className = 'ChannelRescaling';
  readonly scale: number[];

  constructor(args: LayerArgs & { scale: number[] }) {
    super(args);
    this.scale = [...args.scale];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.mul(Array.isArray(inputs) ? inputs[0]! : inputs, tf.tensor1d(this.scale)));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}

/**
 * Dropout with repeatable masks: the n-th training call draws its mask from a generator seeded by
 * (seed, n). `step` counts the training calls; a resumed run restores it to draw the masks an
 * uninterrupted run would have drawn.
 */
export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'SeededDropout';
  readonly rate: number;
  readonly seed: number;
  readonly noiseShape: (number | null)[] | null;
  step = 0;

  constructor(args: LayerArgs & { rate: number; seed: number; noiseShape?: (number | null)[] | null }) {
    super(args);
    this.rate = Math.max(0, Math.min(1, args.rate));
    this.seed = args.seed >>> 0;
    this.noiseShape = args.noiseShape ?? null;
    this.supportsMasking = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (!kwargs['training'] || this.rate <= 0) return tf.clone(x);
      if (this.rate >= 1) return tf.zerosLike(x);
      const noise = this.noiseShape ? this.noiseShape.map((d, i) => d ?? x.shape[i]!) : undefined;
      // A distinct, well-mixed seed per call (the golden-ratio increment keeps streams apart).
      const callSeed = (this.seed + Math.imul(++this.step, 0x9e3779b1)) >>> 0;
      return tf.dropout(x, this.rate, noise, callSeed);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed, noiseShape: this.noiseShape };
  }
}

for (const cls of [CustomScaleLayer, KerasNormalization, ChannelRescaling, SeededDropout]) tf.serialization.registerClass(cls);

const KERAS_BN = Symbol('medtrain.kerasBatchNorm');

/** The parts of tfjs-layers' BatchNormalization the training path below reads. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma?: tf.LayerVariable;
  beta?: tf.LayerVariable;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

/**
 * Training-mode batch normalisation over every axis but the channels, with the moving statistics
 * updated as tfjs-layers updates them (biased batch variance, x ← x − (x − batch)·(1 − momentum)).
 * tfjs-layers' own training path reads gamma and beta unconditionally and throws for a layer built
 * with `scale: false` or `center: false` (InceptionV3's and InceptionResNetV2's BN have no scale).
 * On the native TensorFlow engine every training-mode BN layer runs here, as TensorFlow's fused
 * kernels (src/backend/tf-native.ts).
 */
function trainingBatchNorm(bn: BatchNormLayer, input: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const axis = bn.axis >= 0 ? bn.axis : bn.axis + input.rank;
    const channels = input.shape[axis]!;
    const scale = (bn.gamma ? bn.gamma.read() : tf.ones([channels])) as tf.Tensor1D;
    const offset = (bn.beta ? bn.beta.read() : tf.zeros([channels])) as tf.Tensor1D;
    // The native engine's fused kernels (channels last); elsewhere element-wise ops (tf.batchNorm's
    // gradient cannot record a missing scale or offset).
    const native = axis === input.rank - 1 ? nativeBatchNormTraining(input, scale, offset, bn.epsilon) : null;
    let out: tf.Tensor;
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    if (native) {
      ({ y: out, mean, variance } = native);
    } else {
      const axes = Array.from({ length: input.rank }, (_, i) => i).filter((i) => i !== axis);
      ({ mean, variance } = tf.moments(input, axes));
      const shape = input.shape.map((d, i) => (i === axis ? d : 1));
      out = tf.mul(tf.sub(input, mean.reshape(shape)), tf.rsqrt(tf.add(variance.reshape(shape), bn.epsilon)));
      if (bn.gamma) out = tf.mul(out, scale.reshape(shape));
      if (bn.beta) out = tf.add(out, offset.reshape(shape));
    }
    for (const [v, batch] of [
      [bn.movingMean, mean],
      [bn.movingVariance, variance],
    ] as const) {
      const old = v.read();
      v.write(tf.sub(old, tf.mul(tf.sub(old, batch), 1 - bn.momentum)));
    }
    if (native) tf.dispose([mean, variance]); // kept out of the gradient's scope by nativeBatchNormTraining
    return out;
  });
}

/**
 * Give a model's BatchNormalization layers Keras's semantics for frozen layers: a BN layer whose
 * `trainable` is false runs in inference mode even when the model runs in training mode, so it
 * neither normalises by batch statistics nor updates its moving statistics (tfjs ignores `trainable`
 * there). Freezing a backbone for a warm-up then leaves it exactly as it was. A BN layer without
 * scale or offset, and any BN layer on the native engine, trains through trainingBatchNorm.
 * Idempotent.
 */
export function applyKerasBatchNormSemantics(model: tf.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization' || (layer as unknown as Record<symbol, boolean>)[KERAS_BN]) continue;
    const call = layer.call.bind(layer);
    const bn = layer as unknown as BatchNormLayer;
    layer.call = (inputs, kwargs) => {
      const training = layer.trainable && Boolean(kwargs['training']);
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (training && (!bn.gamma || !bn.beta || canRunNativeBatchNorm(x))) return trainingBatchNorm(bn, x);
      return call(inputs, training ? kwargs : { ...kwargs, training: false });
    };
    (layer as unknown as Record<symbol, boolean>)[KERAS_BN] = true;
  }
}
