/** Shared by the model tests. */
import * as tf from '@tensorflow/tfjs';

/** The oracle's fixed input: sin(i·0.37 + 0.5) in [-1, 1], or mapped to [0, 255] for EfficientNet. */
export function fixedInput(batch: number, size: number, pixels255: boolean): tf.Tensor4D {
  const n = batch * size * size * 3;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.fround(Math.sin(i * 0.37 + 0.5));
    a[i] = pixels255 ? Math.fround((v + 1) * 127.5) : v;
  }
  return tf.tensor4d(a, [batch, size, size, 3]);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return Number.isNaN(m) ? Infinity : m;
}

const KERAS_CLASS: Record<string, string> = { KerasNormalization: 'Normalization', ChannelRescaling: 'Rescaling', SeededDropout: 'Dropout' };

/** A model's layers as the Keras oracle lists them: [name, Keras class, [[weight name, shape], ...]]. */
export function kerasLayerList(model: tf.LayersModel): [string, string, [string, number[]][]][] {
  return model.layers.map((l) => {
    const cls = KERAS_CLASS[l.getClassName()] ?? l.getClassName();
    const weights = l.weights.map((w): [string, number[]] => {
      let name = w.originalName.split('/').pop()!;
      // Keras 3 calls DepthwiseConv2D's kernel just 'kernel'.
      if (cls === 'DepthwiseConv2D' && name === 'depthwise_kernel') name = 'kernel';
      return [name, w.shape as number[]];
    });
    return [l.name, cls, weights];
  });
}
