/**
 * TensorBoard: scalars for every epoch and, per batch, the loss, learning rate and gradient norm,
 * in our own event files (events-writer.ts). Three runs under the log folder, as TensorBoard users
 * know them from Keras: `train/` and `validation/` hold the epoch scalars (the same tag, e.g.
 * `epoch_loss`, in both, so the curves overlay; `val_auroc/<class>` becomes validation
 * `epoch_auroc/<class>`), `batch/` the per-step scalars (their own step axis). Steps: the 0-based
 * epoch for epoch scalars, the global optimizer step for batch scalars.
 */
import { join } from 'node:path';
import type { BatchLogs, Callback, EpochLogs, TrainContext } from './callback.js';
import { EventFileWriter, type Scalar } from './events-writer.js';

export interface TensorBoardOptions {
  logDir: string;
  /** Write batch scalars every n steps (default 1; 0 for none). */
  batchEvery?: number;
  /** Flush buffered batch scalars at least this often (default 10 s). */
  flushSeconds?: number;
}

const RENAME: Record<string, string> = { lr: 'learning_rate' };

export class TensorBoard implements Callback {
  readonly name = 'tensorboard';
  readonly order = 10;
  private train: EventFileWriter | null = null;
  private val: EventFileWriter | null = null;
  private batch: EventFileWriter | null = null;
  private lastFlush = 0;

  constructor(private readonly o: TensorBoardOptions) {}

  onTrainBegin(ctx: TrainContext): void {
    this.train = new EventFileWriter(join(this.o.logDir, 'train'));
    this.val = new EventFileWriter(join(this.o.logDir, 'validation'));
    this.batch = (this.o.batchEvery ?? 1) > 0 ? new EventFileWriter(join(this.o.logDir, 'batch')) : null;
    if (ctx.initialEpoch > 0 || ctx.step > 0) {
      // A resumed run redoes epoch initialEpoch from step step+1: supersede what a cut run wrote there.
      this.train.sessionStart(ctx.initialEpoch);
      this.val.sessionStart(ctx.initialEpoch);
      this.batch?.sessionStart(ctx.step + 1);
    }
    this.flush(true);
  }

  onBatchEnd(_ctx: TrainContext, l: BatchLogs): void {
    if (!this.batch || l.step % (this.o.batchEvery ?? 1) !== 0) return;
    this.batch.scalars(l.step, [
      { tag: 'batch_loss', value: l.loss },
      { tag: 'batch_learning_rate', value: l.lr },
      { tag: 'batch_grad_norm', value: l.gradNorm },
    ]);
    if (Date.now() - this.lastFlush > (this.o.flushSeconds ?? 10) * 1000) this.flush(false);
  }

  onEpochEnd(_ctx: TrainContext, epoch: number, logs: EpochLogs): void {
    const train: Scalar[] = [];
    const val: Scalar[] = [];
    for (const [k, v] of Object.entries(logs)) {
      if (k === 'epoch' || v === null) continue;
      if (k.startsWith('val_')) val.push({ tag: `epoch_${k.slice(4)}`, value: v });
      else train.push({ tag: `epoch_${RENAME[k] ?? k}`, value: v });
    }
    this.train?.scalars(epoch, train);
    this.val?.scalars(epoch, val);
    this.flush(true);
  }

  onTrainEnd(): void {
    this.flush(true);
  }

  private flush(sync: boolean): void {
    for (const w of [this.train, this.val, this.batch]) w?.flush(sync);
    this.lastFlush = Date.now();
  }
}
