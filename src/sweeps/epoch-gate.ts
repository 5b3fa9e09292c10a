/**
 * The epoch gate between a sweep and the training run of one of its trials, over Node's IPC channel
 * (a run started by runner.ts). The run, after each epoch is checkpointed, sends the epoch's values
 * and waits; the sweep answers go on or stop (the trial is pruned: training stops, and the run is
 * evaluated and finished as after early stopping). (A command started with an IPC channel also
 * exits when its parent goes away: util/cli.ts's runMain.)
 */
import type { Callback, EpochLogs, TrainContext } from '../training/callbacks/callback.js';

/** What the run sends after each epoch (epoch 1-based). */
export interface EpochMessage {
  medtrain: 'epoch';
  epoch: number;
  logs: EpochLogs;
}

/** What the sweep answers. */
export interface GateAnswer {
  medtrain: 'gate';
  go: boolean;
}

export function isEpochMessage(m: unknown): m is EpochMessage {
  return typeof m === 'object' && m !== null && (m as EpochMessage).medtrain === 'epoch';
}

/** Whether this process was started with a gate (an IPC channel to its sweep). */
function hasGate(): boolean {
  return typeof process.send === 'function' && process.connected;
}

/** The run's side: a callback that reports each epoch and stops when told. */
export class EpochGate implements Callback {
  readonly name = 'epoch-gate';
  /** After the checkpoint (order 100): what the sweep hears about is saved. */
  readonly order = 200;

  async onEpochEnd(ctx: TrainContext, epoch: number, logs: EpochLogs): Promise<void> {
    if (!hasGate()) return;
    const answer = new Promise<GateAnswer>((resolve) => {
      const on = (m: unknown) => {
        if (typeof m === 'object' && m !== null && (m as GateAnswer).medtrain === 'gate') {
          process.off('message', on);
          resolve(m as GateAnswer);
        }
      };
      process.on('message', on);
    });
    process.send!({ medtrain: 'epoch', epoch: epoch + 1, logs } satisfies EpochMessage);
    if (!(await answer).go) ctx.stop({ kind: 'pruned', message: `pruned by the sweep after epoch ${epoch + 1}`, epoch, step: ctx.step });
  }
}
