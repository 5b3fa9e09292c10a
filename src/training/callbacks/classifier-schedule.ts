/**
 * ClassifierSchedule: what a medtrain classifier (src/models/classifier.ts) needs from the loop.
 *
 * - Warm-up: at each epoch's start it calls `beginEpoch(epoch)`, which freezes the backbone for the
 *   first `warmupEpochs` epochs and unfreezes it after (the Trainer reads the trainable weights at
 *   every step, so the change takes effect at once).
 * - Dropout masks: before each step it sets every SeededDropout layer's call counter to the
 *   Trainer's optimizer step, so the mask of step n is drawn from (layer seed, n) whatever happened
 *   before: a resumed run draws the masks an uninterrupted one would have drawn. (tfjs's own Dropout
 *   draws from an unseeded global random source and, with one, repeats the same mask at every step.)
 *
 * It holds no state of its own: both follow from the epoch and the step, which the Trainer restores.
 */
import type * as tf from '@tensorflow/tfjs';
import { SeededDropout } from '../../models/custom-layers.js';
import type { Callback, TrainContext } from './callback.js';

export interface ScheduledClassifier {
  readonly model: tf.LayersModel;
  /** Called with the 0-based epoch; returns whether the trainable set changed. */
  beginEpoch?(epoch: number): boolean;
}

export class ClassifierSchedule implements Callback {
  readonly name = 'classifier-schedule';
  readonly order = -60;
  private readonly dropouts: SeededDropout[];

  constructor(private readonly classifier: ScheduledClassifier) {
    this.dropouts = classifier.model.layers.filter((l): l is SeededDropout => l instanceof SeededDropout);
  }

  onEpochBegin(_ctx: TrainContext, epoch: number): void {
    this.classifier.beginEpoch?.(epoch);
  }

  onBatchBegin(ctx: TrainContext): void {
    for (const d of this.dropouts) d.step = ctx.step;
  }
}
