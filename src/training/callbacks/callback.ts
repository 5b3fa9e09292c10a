/**
 * The callback contract (after PyTorch Lightning): the Trainer runs the loop and calls hooks; every
 * concern beyond the gradient step (schedules, early stopping, checkpoints, history, TensorBoard,
 * the progress bar, the NaN guard) is a callback. Hooks may be async; the Trainer awaits each in turn.
 */
import type * as tf from '@tensorflow/tfjs';
import type { OptimizerSnapshot } from '../optimizers.js';
import type { RngState } from '../../util/rng.js';

/**
 * Per-epoch values, flat: `epoch` (1-based), `loss` (mean training loss), `lr`, `images`,
 * `seconds`, `images_per_second`, `val_loss`, and `val_<metric>` for every metric the evaluator
 * returns (per class as `val_auroc/<class>`). null marks an undefined metric (an AUROC with one
 * label value), never a number.
 */
export type EpochLogs = Record<string, number | null>;

export interface BatchLogs {
  /** 0-based epoch index. */
  epoch: number;
  /** 0-based batch index within the epoch. */
  batch: number;
  /** Optimizer steps done, this one included. */
  step: number;
  /** Images in the batch. */
  size: number;
  /** The batch's loss. */
  loss: number;
  /** The learning rate this step used. */
  lr: number;
  /** Global L2 norm of the gradients, before clipping. */
  gradNorm: number;
}

/** What a step is about to apply: the guard looks here before the weights change. */
export interface StepInfo {
  epoch: number;
  batch: number;
  /** The step this update would be (1-based). */
  step: number;
  loss: number;
  gradNorm: number;
}

export interface StopReason {
  kind: 'early-stopping' | 'non-finite' | 'interrupted' | 'pruned' | 'callback';
  message: string;
  /** 0-based epoch in which it happened. */
  epoch: number;
  /** The optimizer step (1-based) it concerns. */
  step: number;
  batch?: number;
}

/** The trainer's resumable state (trainer.json in a checkpoint), JSON-safe. */
export interface TrainerState {
  format: 'medtrain-trainer/1';
  /** Completed epochs. */
  epoch: number;
  /** Optimizer steps done. */
  step: number;
  /** The learning rate the next step will use. */
  learningRate: number;
  rng: RngState | null;
  stopped: StopReason | null;
  /** Each stateful callback's state, by its name. */
  callbacks: Record<string, unknown>;
}

/** A full snapshot at the end of an epoch: what a checkpoint holds. */
export interface TrainerCheckpoint {
  state: TrainerState;
  optimizer: OptimizerSnapshot;
  model: tf.LayersModel;
}

/** The Trainer as callbacks see it. */
export interface TrainContext {
  readonly model: tf.LayersModel;
  readonly optimizer: tf.Optimizer;
  /** Total epochs of this fit. */
  readonly epochs: number;
  /** The epoch this fit started at (0, or the resumed epoch). */
  readonly initialEpoch: number;
  /** Completed epochs. */
  readonly completedEpochs: number;
  /** Optimizer steps done. */
  readonly step: number;
  /** Batches per epoch when the training source says. */
  readonly stepsPerEpoch: number | null;
  readonly learningRate: number;
  /** Takes effect from the next step. */
  setLearningRate(lr: number): void;
  /** Finish this epoch (its end hooks run, a checkpoint is written), then stop. */
  stop(reason: StopReason): void;
  /** Stop now: the pending update is not applied, and this epoch's end hooks do not run. */
  abort(reason: StopReason): void;
  readonly stopReason: StopReason | null;
  /** The full state now (for checkpoints). */
  checkpoint(): Promise<TrainerCheckpoint>;
}

export interface TrainEndInfo {
  stopped: StopReason | null;
  history: EpochLogs[];
}

export interface Callback {
  /** Unique among a trainer's callbacks; the key of its state in checkpoints. */
  readonly name: string;
  /**
   * Run order, low first (default 0). Guards come first (-100), schedules early (-50), checkpoints
   * last among the state holders (100) so the state they save includes everyone's updates.
   */
  readonly order?: number;
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(ctx: TrainContext, epoch: number): void | Promise<void>;
  onBatchBegin?(ctx: TrainContext, info: { epoch: number; batch: number; size: number }): void | Promise<void>;
  /** After the gradients and before the update; may abort to keep the weights as they are. */
  onBeforeOptimizerStep?(ctx: TrainContext, info: StepInfo): void | Promise<void>;
  onBatchEnd?(ctx: TrainContext, logs: BatchLogs): void | Promise<void>;
  /** After validation, before onEpochEnd: a guard may abort here and no checkpoint is written. */
  onValidationEnd?(ctx: TrainContext, epoch: number, logs: EpochLogs): void | Promise<void>;
  onEpochEnd?(ctx: TrainContext, epoch: number, logs: EpochLogs): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext, info: TrainEndInfo): void | Promise<void>;
  /** fit() is about to throw: release what the callback holds (the terminal, files). */
  onException?(ctx: TrainContext, error: unknown): void | Promise<void>;
  /** JSON-safe state to checkpoint. */
  stateDict?(): unknown;
  loadStateDict?(state: unknown): void;
}

/** 'min' for names with "loss" in them, else 'max' (AUROC, accuracy), as Keras's mode 'auto'. */
export function monitorMode(monitor: string, mode: 'auto' | 'min' | 'max' = 'auto'): 'min' | 'max' {
  return mode === 'auto' ? (/loss/i.test(monitor) ? 'min' : 'max') : mode;
}

/** Whether `current` improves on `best` by more than minDelta in the given direction. */
export function improves(current: number | null | undefined, best: number | null, mode: 'min' | 'max', minDelta = 0): boolean {
  if (current === null || current === undefined || !Number.isFinite(current)) return false;
  if (best === null) return true;
  return mode === 'min' ? current < best - Math.abs(minDelta) : current > best + Math.abs(minDelta);
}
