/**
 * Worker-thread entry of the image pipeline: receives the settings once, then batches of sample
 * tasks, and sends back the pixels (transferred, not copied). Run from dist/ as worker.js, or from
 * the TypeScript source under tsx (see pool.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { buildBatch, type PipelineSettings, type SampleTask } from './batch-builder.js';

// One libvips thread per worker: the pool is the parallelism, and no cache of decoded files.
sharp.concurrency(1);
sharp.cache(false);

const settings = (workerData as { settings: PipelineSettings }).settings;
const port = parentPort!;

port.on('message', (msg: { id: number; tasks: SampleTask[] }) => {
  buildBatch(settings, msg.tasks).then(
    (r) => port.postMessage({ id: msg.id, result: r }, [r.x.buffer as ArrayBuffer]),
    (e: unknown) => port.postMessage({ id: msg.id, error: (e as Error)?.stack ?? String(e) }),
  );
});
