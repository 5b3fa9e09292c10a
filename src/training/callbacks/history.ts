/**
 * History: every epoch's logs (every metric, per class too), kept in memory and written after each
 * epoch as CSV and JSON, each file replaced atomically. After a resume it rewrites both from the
 * checkpointed rows, so an epoch that was cut short never shows.
 */
import { writeFileAtomic } from '../../util/fs.js';
import { toCsv } from '../../util/csv.js';
import type { Callback, EpochLogs, TrainContext } from './callback.js';

export interface HistoryOptions {
  /** history.csv path; none when absent. */
  csv?: string;
  /** history.json path; none when absent. */
  json?: string;
}

export class History implements Callback {
  readonly name = 'history';
  readonly order = 10;
  private rows: EpochLogs[] = [];

  constructor(private readonly o: HistoryOptions = {}) {}

  /** The rows so far (a copy). */
  get epochs(): EpochLogs[] {
    return this.rows.map((r) => ({ ...r }));
  }

  async onTrainBegin(ctx: TrainContext): Promise<void> {
    // Rows past the restored epoch belong to a cut-short run: drop them.
    this.rows = this.rows.filter((r) => (r.epoch ?? 0) <= ctx.completedEpochs);
    if (ctx.initialEpoch > 0) await this.write();
  }

  async onEpochEnd(_ctx: TrainContext, _epoch: number, logs: EpochLogs): Promise<void> {
    this.rows.push({ ...logs });
    await this.write();
  }

  private async write(): Promise<void> {
    if (this.o.json) await writeFileAtomic(this.o.json, `${JSON.stringify(this.rows, null, 2)}\n`);
    if (this.o.csv) await writeFileAtomic(this.o.csv, toCsv(this.rows));
  }

  stateDict(): EpochLogs[] {
    return this.epochs;
  }
  loadStateDict(state: unknown): void {
    this.rows = (state as EpochLogs[]).map((r) => ({ ...r }));
  }
}
