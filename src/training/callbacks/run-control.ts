/**
 * RunControl: stopping a run from outside. An abort signal (Ctrl-C in `medtrain train`) stops the run
 * after the step under way: the weights of that step stay in memory only, the run keeps its last
 * complete epoch and can be resumed from it. Each step is also a crash point for the fault-injection
 * tests (`step:<n>`, src/util/faults.ts).
 */
import { faultPoint } from '../../util/faults.js';
import type { BatchLogs, Callback, TrainContext } from './callback.js';

export class RunControl implements Callback {
  readonly name = 'run-control';
  readonly order = -90;

  constructor(private readonly signal?: AbortSignal) {}

  async onBatchEnd(ctx: TrainContext, s: BatchLogs): Promise<void> {
    faultPoint(`step:${s.step}`);
    // Let the event loop run once a step: a signal handler (Ctrl-C) only runs when it does.
    if (this.signal) await new Promise<void>((r) => setImmediate(r));
    if (!this.signal?.aborted) return;
    ctx.abort({ kind: 'interrupted', message: `interrupted after step ${s.step} (epoch ${s.epoch + 1}, batch ${s.batch + 1})`, epoch: s.epoch, step: s.step, batch: s.batch });
  }
}
