/**
 * Worker threads whose entry is one of medtrain's modules: the compiled .js directly, or, when the
 * library runs from its TypeScript source, the .ts through tsx's loader (Node 20 does not apply
 * `--import` loaders to a worker's entry module). A module that serves as a worker entry tells its
 * threads apart by a `kind` in workerData (`isWorkerOf`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, isMainThread, workerData, type WorkerOptions } from 'node:worker_threads';

/** Source for `new Worker(src, { eval: true })` that loads the module at `moduleUrl`. */
function workerSource(moduleUrl: string): string {
  const self = JSON.stringify(moduleUrl);
  if (!moduleUrl.endsWith('.ts')) return `import(${self});`;
  // tsx/dist/loader.mjs → tsx/dist/esm/api/index.mjs (resolved by path: import.meta.resolve is missing where tsx runs us as CommonJS).
  const loader = createRequire(moduleUrl).resolve('tsx');
  const api = JSON.stringify(pathToFileURL(join(dirname(loader), 'esm', 'api', 'index.mjs')).href);
  return `import(${api}).then((t) => { t.register(); return import(${self}); });`;
}

/** A worker thread running the module at `moduleUrl` (a file: URL, .js or .ts). */
export function moduleWorker(moduleUrl: string, opts: Omit<WorkerOptions, 'eval'> = {}): Worker {
  return new Worker(workerSource(moduleUrl), { ...opts, eval: true });
}

/** The URL of a sibling module of `moduleUrl`, with the same extension (.ts from source, .js compiled). */
export function siblingModule(moduleUrl: string, name: string): string {
  return new URL(`./${name}${moduleUrl.endsWith('.ts') ? '.ts' : '.js'}`, moduleUrl).href;
}

/** Whether this thread is a worker started with `workerData.kind === kind`. */
export function isWorkerOf(kind: string): boolean {
  return !isMainThread && (workerData as { kind?: string } | null)?.kind === kind;
}
