/**
 * A pool of worker threads that build batches (decode + transform + augment), so the thread that
 * trains never waits on JPEG decoding. Works from the compiled library (dist/data/worker.js) and
 * from the TypeScript source (src/data/worker.ts, through tsx; see src/util/worker.ts).
 */
import type { Worker } from 'node:worker_threads';
import { moduleWorker, siblingModule } from '../util/worker.js';
import type { BatchPixels, PipelineSettings, SampleTask } from './batch-builder.js';

interface Pending {
  resolve: (r: BatchPixels) => void;
  reject: (e: Error) => void;
  worker: Slot;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number, settings: PipelineSettings) {
    const entry = siblingModule(import.meta.url, 'worker');
    for (let i = 0; i < size; i++) {
      const worker = moduleWorker(entry, { workerData: { settings } });
      const slot: Slot = { worker, inFlight: 0 };
      worker.unref();
      worker.on('message', (msg: { id: number; result?: BatchPixels; error?: string }) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        this.settle(slot);
        if (msg.error !== undefined) p.reject(new Error(`image worker failed: ${msg.error}`));
        else p.resolve(msg.result!);
      });
      const fail = (e: Error) => {
        for (const [id, p] of this.pending) {
          if (p.worker !== slot) continue;
          this.pending.delete(id);
          this.settle(slot);
          p.reject(e);
        }
      };
      worker.on('error', (e) => fail(new Error(`image worker crashed: ${e.stack ?? e.message}`)));
      worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`image worker exited (code ${code})`));
      });
      this.slots.push(slot);
    }
  }

  private settle(slot: Slot): void {
    slot.inFlight--;
    if (slot.inFlight === 0) slot.worker.unref();
  }

  /** Build one batch on the least busy worker. */
  run(tasks: SampleTask[]): Promise<BatchPixels> {
    if (this.closed) return Promise.reject(new Error('the worker pool is closed'));
    let slot = this.slots[0]!;
    for (const s of this.slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.nextId++;
    return new Promise<BatchPixels>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, worker: slot });
      if (slot.inFlight++ === 0) slot.worker.ref();
      slot.worker.postMessage({ id, tasks });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new Error('the worker pool was closed'));
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
