/**
 * The layer vocabulary the backbone files are written in: tfjs-layers with Keras's defaults, Keras's
 * automatic layer names and seeded initialisers.
 *
 * - Names: a layer given no name gets the one Keras 3 would give it in a fresh session
 *   (`conv2d`, `conv2d_1`, `batch_normalization`, ...): the snake-cased class name plus a counter per
 *   class, counted per model. Named layers do not consume a number, as in Keras.
 * - Initialisers: Keras's defaults (glorot_uniform kernels, zero biases, BN ones/zeros), each weight
 *   seeded from the builder's Rng so the same seed builds the same weights. Without an Rng (weights
 *   about to be loaded) every weight starts at zero, which skips the random draws.
 * - Each helper takes the input tensor first and returns the output tensor, so a family file reads
 *   like its keras.applications source: `x = L.conv2d(x, {filters: 64, kernelSize: 7, name: 'conv1_conv'})`.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.js';
import { ChannelRescaling, CustomScaleLayer, KerasNormalization, SeededDropout } from './custom-layers.js';

export type Sym = tf.SymbolicTensor;
type Args<F extends (a: any) => unknown> = NonNullable<Parameters<F>[0]>;
type Named<T> = Omit<T, 'name'> & { name?: string };
type Init = ReturnType<typeof tf.initializers.zeros>;

/** Keras's `to_snake_case`, which names the auto-named layers and the Keras 3 weight-file groups. */
export function kerasSnakeCase(className: string): string {
  return className
    .replace(/\W+/g, '')
    .replace(/(.)([A-Z][a-z]+)/g, '$1_$2')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
}

/** Keras's truncated normal divides its stddev by this constant (the std of a unit normal truncated at ±2). */
const TRUNCATED_NORMAL_STD = 0.87962566103423978;

export class LayerBuilder {
  private readonly counts = new Map<string, number>();

  /** @param rng seeds every initialiser; null: all weights start at zero (to be loaded). */
  constructor(private readonly rng: Rng | null) {}

  /** The Keras 3 automatic name for the next layer of this Keras class, or the explicit name. */
  name(kerasClass: string, explicit?: string): string {
    if (explicit) return explicit;
    const base = kerasSnakeCase(kerasClass);
    const n = this.counts.get(base);
    this.counts.set(base, n === undefined ? 0 : n + 1);
    return n === undefined ? base : `${base}_${n + 1}`;
  }

  input(size: number, channels = 3): Sym {
    return tf.input({ shape: [size, size, channels], name: this.name('InputLayer') });
  }

  /** Keras glorot_uniform (Conv2D, Dense, SeparableConv2D and DepthwiseConv2D default). */
  glorotUniform(): Init {
    return this.rng ? tf.initializers.glorotUniform({ seed: this.rng.int32() }) : tf.initializers.zeros();
  }

  /** Keras VarianceScaling(scale, mode, distribution), the truncated normal rescaled as Keras does. */
  varianceScaling(scale: number, mode: 'fanIn' | 'fanOut' | 'fanAvg', distribution: 'truncatedNormal' | 'uniform'): Init {
    if (!this.rng) return tf.initializers.zeros();
    const s = distribution === 'truncatedNormal' ? scale / TRUNCATED_NORMAL_STD ** 2 : scale;
    return tf.initializers.varianceScaling({ scale: s, mode, distribution, seed: this.rng.int32() });
  }

  conv2d(x: Sym, args: Named<Args<typeof tf.layers.conv2d>>): Sym {
    return this.apply(
      tf.layers.conv2d({
        kernelInitializer: this.glorotUniform(),
        biasInitializer: 'zeros',
        ...args,
        name: this.name('Conv2D', args.name),
      }),
      x,
    );
  }

  separableConv2d(x: Sym, args: Named<Args<typeof tf.layers.separableConv2d>>): Sym {
    return this.apply(
      tf.layers.separableConv2d({
        depthwiseInitializer: this.glorotUniform(),
        pointwiseInitializer: this.glorotUniform(),
        biasInitializer: 'zeros',
        ...args,
        name: this.name('SeparableConv2D', args.name),
      }),
      x,
    );
  }

  depthwiseConv2d(x: Sym, args: Named<Args<typeof tf.layers.depthwiseConv2d>>): Sym {
    return this.apply(
      tf.layers.depthwiseConv2d({
        depthwiseInitializer: this.glorotUniform(),
        biasInitializer: 'zeros',
        ...args,
        name: this.name('DepthwiseConv2D', args.name),
      }),
      x,
    );
  }

  /** BatchNormalization over the channel axis; Keras's defaults (momentum 0.99, epsilon 1e-3) unless given. */
  batchNorm(x: Sym, args: Named<Args<typeof tf.layers.batchNormalization>> = {}): Sym {
    return this.apply(tf.layers.batchNormalization({ axis: -1, ...args, name: this.name('BatchNormalization', args.name) }), x);
  }

  activation(x: Sym, activation: Args<typeof tf.layers.activation>['activation'], name?: string): Sym {
    return this.apply(tf.layers.activation({ activation, name: this.name('Activation', name) }), x);
  }

  /** Keras `ReLU(max_value)`. */
  relu(x: Sym, maxValue: number | undefined, name?: string): Sym {
    return this.apply(tf.layers.reLU({ ...(maxValue !== undefined && { maxValue }), name: this.name('ReLU', name) }), x);
  }

  dense(x: Sym, args: Named<Args<typeof tf.layers.dense>>): Sym {
    return this.apply(
      tf.layers.dense({ kernelInitializer: this.glorotUniform(), biasInitializer: 'zeros', ...args, name: this.name('Dense', args.name) }),
      x,
    );
  }

  /** Dropout whose masks come from a seeded stream (see SeededDropout). */
  dropout(x: Sym, rate: number, opts: { noiseShape?: (number | null)[]; name?: string } = {}): Sym {
    const seed = this.rng ? this.rng.int32() : 0;
    return this.apply(new SeededDropout({ rate, seed, ...(opts.noiseShape && { noiseShape: opts.noiseShape }), name: this.name('Dropout', opts.name) }), x);
  }

  /** ZeroPadding2D with ((top, bottom), (left, right)) or a symmetric amount. */
  zeroPadding2d(x: Sym, padding: number | [[number, number], [number, number]], name?: string): Sym {
    return this.apply(tf.layers.zeroPadding2d({ padding, name: this.name('ZeroPadding2D', name) }), x);
  }

  maxPooling2d(x: Sym, poolSize: number | [number, number], opts: { strides?: number; padding?: 'valid' | 'same'; name?: string } = {}): Sym {
    return this.apply(
      tf.layers.maxPooling2d({ poolSize, strides: opts.strides ?? poolSize, padding: opts.padding ?? 'valid', name: this.name('MaxPooling2D', opts.name) }),
      x,
    );
  }

  averagePooling2d(x: Sym, poolSize: number | [number, number], opts: { strides?: number; padding?: 'valid' | 'same'; name?: string } = {}): Sym {
    return this.apply(
      tf.layers.averagePooling2d({ poolSize, strides: opts.strides ?? poolSize, padding: opts.padding ?? 'valid', name: this.name('AveragePooling2D', opts.name) }),
      x,
    );
  }

  globalAveragePooling2d(x: Sym, name?: string): Sym {
    return this.apply(tf.layers.globalAveragePooling2d({ name: this.name('GlobalAveragePooling2D', name) }), x);
  }

  globalMaxPooling2d(x: Sym, name?: string): Sym {
    return this.apply(tf.layers.globalMaxPooling2d({ name: this.name('GlobalMaxPooling2D', name) }), x);
  }

  concatenate(xs: Sym[], name?: string): Sym {
    return this.apply(tf.layers.concatenate({ axis: -1, name: this.name('Concatenate', name) }), xs);
  }

  add(xs: Sym[], name?: string): Sym {
    return this.apply(tf.layers.add({ name: this.name('Add', name) }), xs);
  }

  multiply(xs: Sym[], name?: string): Sym {
    return this.apply(tf.layers.multiply({ name: this.name('Multiply', name) }), xs);
  }

  reshape(x: Sym, targetShape: number[], name?: string): Sym {
    return this.apply(tf.layers.reshape({ targetShape, name: this.name('Reshape', name) }), x);
  }

  /** Keras Rescaling: a scalar scale uses tfjs's layer; a per-channel one our ChannelRescaling. */
  rescaling(x: Sym, scale: number | number[], name?: string): Sym {
    const n = this.name('Rescaling', name);
    return this.apply(typeof scale === 'number' ? tf.layers.rescaling({ scale, name: n }) : new ChannelRescaling({ scale, name: n }), x);
  }

  /** Keras Normalization over the last axis (mean, variance, count weights). */
  normalization(x: Sym, name?: string): Sym {
    return this.apply(new KerasNormalization({ name: this.name('Normalization', name) }), x);
  }

  /** InceptionResNetV2's residual scaling: inputs[0] + inputs[1] * scale. */
  customScale(xs: [Sym, Sym], scale: number, name?: string): Sym {
    return this.apply(new CustomScaleLayer({ scale, name: this.name('CustomScaleLayer', name) }), xs);
  }

  private apply(layer: tf.layers.Layer, x: Sym | Sym[]): Sym {
    return layer.apply(x) as Sym;
  }
}

/** Keras's `imagenet_utils.correct_pad`: the padding before a stride-2 'valid' conv on `x`. */
export function correctPad(x: Sym, kernelSize: number): [[number, number], [number, number]] {
  const [, h, w] = x.shape;
  const correct = Math.floor(kernelSize / 2);
  const adjust = (n: number | null) => (n === null ? 1 : 1 - (n % 2));
  return [
    [correct - adjust(h ?? null), correct],
    [correct - adjust(w ?? null), correct],
  ];
}
