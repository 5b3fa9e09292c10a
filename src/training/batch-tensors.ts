/**
 * Batch → tensors: the one place a typed-array Batch (src/core/types.ts; what src/data yields)
 * becomes engine tensors. src/data stays free of tfjs; the training side converts.
 *
 * Tensors: every function here returns new tensors that the caller owns and disposes.
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED, type Batch } from '../core/types.js';

export interface BatchTensors {
  /** [B, D, D, 3] images. */
  x: tf.Tensor4D;
  /** [B, C] encoded labels, MASKED where not labelled. */
  y: tf.Tensor2D;
  /** [B, C]: 1 where the label is known, 0 where MASKED (only when asked for). */
  mask?: tf.Tensor2D;
}

/** The images of a batch: [B, D, D, 3]. */
export function batchImages(batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.size, batch.dim, batch.dim, 3], 'float32');
}

/** The encoded labels of a batch: [B, C], MASKED kept. */
export function batchLabels(batch: Batch): tf.Tensor2D {
  return tf.tensor2d(batch.y, [batch.size, batch.numClasses], 'float32');
}

/** [B, C]: 1 where the batch's label is known, 0 where it is MASKED. */
export function batchMask(batch: Batch): tf.Tensor2D {
  const m = new Float32Array(batch.y.length);
  for (let i = 0; i < m.length; i++) m[i] = batch.y[i] === MASKED ? 0 : 1;
  return tf.tensor2d(m, [batch.size, batch.numClasses], 'float32');
}

/** Images and labels of a batch (and the label mask if asked); the caller disposes them. */
export function batchToTensors(batch: Batch, opts: { mask?: boolean } = {}): BatchTensors {
  const x = batchImages(batch);
  const y = batchLabels(batch);
  return opts.mask ? { x, y, mask: batchMask(batch) } : { x, y };
}
