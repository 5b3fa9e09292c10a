/**
 * ProgressBar: a Keras-like display on stderr. On a terminal it redraws one line per epoch
 *
 *   Epoch 2/3
 *   12/40 [=======>......................] - ETA: 35s - loss: 0.4512 - 23.4 img/s
 *
 * and owns the terminal meanwhile: log lines are printed above the bar, which is then redrawn.
 * Without a terminal it writes plain lines now and then. Silent under tests unless given a stream.
 */
import { getConsoleSink, setConsoleSink, type LogSink } from '../../util/logger.js';
import type { BatchLogs, Callback, EpochLogs, TrainContext, TrainEndInfo } from './callback.js';

export interface ProgressOptions {
  /** Default process.stderr (none under vitest); null for silence. */
  stream?: NodeJS.WritableStream | null;
  /** Redraw in place (default: whether the stream is a TTY). */
  tty?: boolean;
  /** Bar width in characters. Default 30. */
  width?: number;
  /** Without a TTY: a line at most this often within an epoch (default 15 s), and one at its end. */
  plainEverySeconds?: number;
}

export function formatDuration(s: number): string {
  const t = Math.max(0, Math.round(s));
  if (t < 60) return `${t}s`;
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

function num(v: number): string {
  return Math.abs(v) >= 1e-3 || v === 0 ? v.toFixed(4) : v.toExponential(3);
}

export class ProgressBar implements Callback {
  readonly name = 'progress';
  readonly order = 200;
  private readonly stream: NodeJS.WritableStream | null;
  private readonly tty: boolean;
  private readonly width: number;
  private readonly plainEvery: number;
  private prevSink: LogSink | null = null;
  private owning = false;
  private line = '';
  private epochStart = 0;
  private lastDraw = 0;
  private batches = 0;
  private images = 0;
  private lossSum = 0;

  constructor(o: ProgressOptions = {}) {
    this.stream = o.stream !== undefined ? o.stream : process.env.VITEST ? null : process.stderr;
    this.tty = o.tty ?? Boolean((this.stream as NodeJS.WriteStream | null)?.isTTY);
    this.width = o.width ?? 30;
    this.plainEvery = (o.plainEverySeconds ?? 15) * 1000;
  }

  private write(s: string): void {
    this.stream?.write(s);
  }

  private clear(): void {
    if (this.tty && this.line) this.write('\r\x1b[2K');
  }

  private draw(line: string): void {
    this.line = line;
    this.write(`\r\x1b[2K${line}`);
  }

  onTrainBegin(): void {
    if (!this.stream || !this.tty) return;
    this.prevSink = getConsoleSink();
    const prev = this.prevSink;
    this.owning = true;
    setConsoleSink({
      write: (lvl, scope, message, fields) => {
        this.clear();
        prev?.write(lvl, scope, message, fields);
        if (this.line) this.write(this.line);
      },
    });
  }

  onEpochBegin(ctx: TrainContext, epoch: number): void {
    this.epochStart = performance.now();
    this.lastDraw = 0;
    this.batches = 0;
    this.images = 0;
    this.lossSum = 0;
    this.line = '';
    this.write(`Epoch ${epoch + 1}/${ctx.epochs}\n`);
  }

  private counter(ctx: TrainContext, done: number): string {
    const total = ctx.stepsPerEpoch;
    if (!total) return `${done}/?`;
    const w = String(total).length;
    const filled = Math.min(this.width, Math.floor((this.width * done) / total));
    const bar = done >= total ? '='.repeat(this.width) : `${'='.repeat(Math.max(0, filled - 1))}>${'.'.repeat(this.width - Math.max(filled, 1))}`;
    return `${String(done).padStart(w)}/${total} [${bar}]`;
  }

  onBatchEnd(ctx: TrainContext, l: BatchLogs): void {
    this.batches++;
    this.images += l.size;
    this.lossSum += l.loss * l.size;
    if (!this.stream) return;
    const t = performance.now();
    const every = this.tty ? 100 : this.plainEvery;
    if (t - this.lastDraw < every) return;
    if (!this.tty && this.lastDraw === 0) {
      // The first plain line waits a full interval.
      this.lastDraw = t;
      return;
    }
    this.lastDraw = t;
    const elapsed = (t - this.epochStart) / 1000;
    const total = ctx.stepsPerEpoch;
    const eta = total ? ` - ETA: ${formatDuration((elapsed / this.batches) * (total - this.batches))}` : '';
    const text = `${this.counter(ctx, this.batches)}${eta} - loss: ${num(this.lossSum / this.images)} - ${(this.images / elapsed).toFixed(1)} img/s`;
    if (this.tty) this.draw(text);
    else this.write(`epoch ${l.epoch + 1}/${ctx.epochs} ${text}\n`);
  }

  onEpochEnd(ctx: TrainContext, _epoch: number, logs: EpochLogs): void {
    if (!this.stream) return;
    const elapsed = (performance.now() - this.epochStart) / 1000;
    const shown = Object.entries(logs).filter(([k, v]) => v !== null && (k === 'loss' || (k.startsWith('val_') && !k.includes('/'))));
    const metrics = shown.map(([k, v]) => `${k}: ${num(v!)}`).join(' - ');
    const perStep = this.batches ? elapsed / this.batches : 0;
    const text = `${this.counter(ctx, this.batches)} - ${formatDuration(elapsed)} ${perStep < 1 ? `${Math.round(perStep * 1000)}ms` : `${perStep.toFixed(2)}s`}/step - ${(this.images / Math.max(elapsed, 1e-9)).toFixed(1)} img/s - ${metrics}`;
    if (this.tty) this.draw(text);
    else this.write(text);
    this.write('\n');
    this.line = '';
  }

  onTrainEnd(_ctx: TrainContext, info: TrainEndInfo): void {
    this.release();
    if (info.stopped) this.write(`stopped: ${info.stopped.message}\n`);
  }

  onException(): void {
    this.clear();
    this.line = '';
    this.release();
  }

  private release(): void {
    if (this.owning) setConsoleSink(this.prevSink);
    this.owning = false;
  }
}
