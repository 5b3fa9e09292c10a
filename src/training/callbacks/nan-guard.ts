/**
 * NanGuard: stops training at the first non-finite loss or gradient, before the update reaches the
 * weights, and at a non-finite validation loss before the epoch is checkpointed. The stop reason
 * names the epoch and step; the last checkpoint written stays the last good one.
 */
import { createLogger } from '../../util/logger.js';
import type { Callback, EpochLogs, StepInfo, TrainContext } from './callback.js';

const log = createLogger('train');

export class NanGuard implements Callback {
  readonly name = 'nan-guard';
  readonly order = -100;

  onBeforeOptimizerStep(ctx: TrainContext, s: StepInfo): void {
    if (Number.isFinite(s.loss) && Number.isFinite(s.gradNorm)) return;
    const what = Number.isFinite(s.loss) ? `gradient norm ${s.gradNorm}` : `loss ${s.loss}`;
    const message = `${what} at epoch ${s.epoch + 1}, step ${s.step} (batch ${s.batch + 1} of the epoch); training stopped before the update, the last good checkpoint is kept`;
    log.error(message);
    ctx.abort({ kind: 'non-finite', message, epoch: s.epoch, step: s.step, batch: s.batch });
  }

  onValidationEnd(ctx: TrainContext, epoch: number, logs: EpochLogs): void {
    for (const k of ['loss', 'val_loss']) {
      const v = logs[k];
      if (v === undefined || (v !== null && Number.isFinite(v))) continue;
      const message = `${k} ${v} at the end of epoch ${epoch + 1} (step ${ctx.step}); training stopped, this epoch is not checkpointed`;
      log.error(message);
      ctx.abort({ kind: 'non-finite', message, epoch, step: ctx.step });
      return;
    }
  }
}
