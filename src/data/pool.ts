/**
 * A pool of worker threads that build batches (decode + transform + augment), so the thread that
 * trains never waits on JPEG decoding. Works from the compiled library (dist/data/worker.js) and
 * from the TypeScript source (src/data/worker.ts, started with tsx's loader).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
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

/**
 * How to start a worker: the compiled worker.js beside this module, or, when this module runs from
 * the TypeScript source, a bootstrap that loads worker.ts through tsx's tsImport (Node 20 does not
 * apply `--import` loaders to a worker's entry module).
 */
export function workerEntry(): { script: URL | string; eval: boolean } {
  if (!import.meta.url.endsWith('.ts')) return { script: new URL('./worker.js', import.meta.url), eval: false };
  const loader = createRequire(import.meta.url).resolve('tsx'); // tsx/dist/loader.mjs
  const api = pathToFileURL(join(dirname(loader), 'esm', 'api', 'index.mjs')).href;
  const entry = new URL('./worker.ts', import.meta.url).href;
  return { script: `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(entry)}))`, eval: true };
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private closed = false;

  constructor(readonly size: number, settings: PipelineSettings) {
    const entry = workerEntry();
    for (let i = 0; i < size; i++) {
      const worker = new Worker(entry.script, { workerData: { settings }, eval: entry.eval });
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
