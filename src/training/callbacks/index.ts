/**
 * The callbacks, and the standard set a run uses (the reference defaults: per-epoch LR factor,
 * ReduceLROnPlateau factor 0.5 patience 2, EarlyStopping on val_loss patience 5 with the best
 * weights restored, a checkpoint every epoch plus best/, history, TensorBoard, the progress bar;
 * the Trainer adds the NaN guard itself).
 */
import type { Callback } from './callback.js';
import { ModelCheckpoint, type CheckpointSink, type CheckpointSource } from './checkpoint.js';
import { EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
import { History } from './history.js';
import { LrFactorSchedule, ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './lr-schedules.js';
import { ProgressBar, type ProgressOptions } from './progress.js';
import { TensorBoard, type TensorBoardOptions } from './tensorboard.js';

export * from './callback.js';
export * from './checkpoint.js';
export * from './early-stopping.js';
export * from './events-writer.js';
export * from './history.js';
export * from './lr-schedules.js';
export * from './nan-guard.js';
export * from './progress.js';
export * from './tensorboard.js';

export interface StandardCallbackOptions {
  /** The run folder (RunStore): checkpoints, history, TensorBoard go there. Without it: schedules and progress only. */
  store?: CheckpointSink & CheckpointSource & { paths: { historyCsv: string; historyJson: string; tensorboard: string } };
  /** Per-epoch LR factor (the Benchmark's lrFactor); 1 = none. */
  lrFactor?: number;
  /** Default { monitor: 'val_loss', patience: 5, restoreBest: true }; false for none. */
  earlyStopping?: EarlyStoppingOptions | false;
  /** Default { monitor: 'val_loss', factor: 0.5, patience: 2 }; false for none. */
  plateau?: ReduceLROnPlateauOptions | false;
  /** What best/ is best by. Default val_loss. */
  bestMonitor?: string;
  /** Default on (batch scalars every step, flushed every 10 s); false for none. */
  tensorboard?: false | Omit<TensorBoardOptions, 'logDir'>;
  /** Default on (silent under tests); false for none. */
  progress?: ProgressOptions | false;
}

export function standardCallbacks(o: StandardCallbackOptions = {}): Callback[] {
  const cbs: Callback[] = [];
  if (o.lrFactor !== undefined && o.lrFactor !== 1) cbs.push(new LrFactorSchedule(o.lrFactor));
  if (o.plateau !== false) cbs.push(new ReduceLROnPlateau(o.plateau ?? {}));
  if (o.earlyStopping !== false) cbs.push(new EarlyStopping({ ...(o.store && { checkpoints: o.store }), ...(o.earlyStopping ?? {}) }));
  if (o.store) {
    cbs.push(new History({ csv: o.store.paths.historyCsv, json: o.store.paths.historyJson }));
    if (o.tensorboard !== false) cbs.push(new TensorBoard({ ...o.tensorboard, logDir: o.store.paths.tensorboard }));
    cbs.push(new ModelCheckpoint(o.store, { monitor: o.bestMonitor ?? 'val_loss' }));
  } else {
    cbs.push(new History());
  }
  if (o.progress !== false) cbs.push(new ProgressBar(o.progress || {}));
  return cbs;
}
