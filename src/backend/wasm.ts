/**
 * The WebAssembly engine. Stock tfjs-backend-wasm cannot train convolutional networks (it lacks
 * Conv2DBackpropFilter and the depthwise gradients, its Conv2DBackpropInput is slow and its
 * MaxPoolGrad wrong); the kernels in ./wasm-kernels fill those gaps and are registered before the
 * engine is used.
 *
 * Threads. tfjs-backend-wasm ships a multithreaded SIMD build (XNNPACK on a pthread pool) but never
 * uses it in Node: its WASM_HAS_MULTITHREAD_SUPPORT flag is false there (tfjs issue 3830), its
 * worker script is handed over as a blob: URL, which Node's worker_threads cannot load, and its
 * thread count is capped at half the logical cores. Here the threaded build is started directly:
 * the worker script is written to a file, the main script is given by path, and the core count
 * the module sees is set so that the pool gets the asked-for threads (at most 8, the size of the
 * build's worker pool). The workers running the pool's threads are unref'd, so Node still exits.
 *
 * MEDTRAIN_WASM_THREADS: `auto` (default: one thread per core, at most 8), a number, or `1` / `off`
 * for the single-threaded build. A threaded start that fails falls back to one thread with a warning.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { MedtrainError } from '../util/errors.js';
import { writeFileAtomicSync } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { registerWasmTrainingKernels } from './wasm-kernels/index.js';
import { withoutNewProcessHandlers } from './quiet.js';

const log = createLogger('engine');
const require = createRequire(import.meta.url);

/** The most threads the threaded build can use (its pthread pool has 8 workers). */
export const MAX_WASM_THREADS = 8;

/** Threads asked for by MEDTRAIN_WASM_THREADS (or `value`): a count >= 1. */
export function wasmThreadsRequest(value: string | undefined = process.env.MEDTRAIN_WASM_THREADS): number {
  const v = (value ?? '').trim().toLowerCase();
  if (v === '' || v === 'auto') return Math.min(MAX_WASM_THREADS, os.availableParallelism?.() ?? os.cpus().length);
  if (v === 'off' || v === 'false' || v === '0') return 1;
  const n = Number(v);
  if (Number.isInteger(n) && n >= 1) return Math.min(MAX_WASM_THREADS, n);
  throw new MedtrainError('bad MEDTRAIN_WASM_THREADS', {
    code: 'bad-env',
    column: 'MEDTRAIN_WASM_THREADS',
    value,
    hint: `use auto, off, or a number of threads from 1 to ${MAX_WASM_THREADS}`,
  });
}

/** The WebAssembly global (absent from this project's TypeScript lib, present in Node). */
const wasmApi = (globalThis as unknown as { WebAssembly: { instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: unknown; module: unknown }> } }).WebAssembly;

interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** The Emscripten module of the threaded SIMD build, started so that Node can run it. */
async function threadedModule(threads: number): Promise<unknown> {
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const name = 'tfjs-backend-wasm-threaded-simd';
  const factory = require(join(dir, `${name}.js`)) as (config: object) => Promise<Record<string, any>>;
  // The package carries the worker script as a string (meant for a blob: URL, with its newlines
  // unescaped); Node's workers need a file.
  const workerSource = (require(join(dir, `${name}.worker.js`)) as { wasmWorkerContents: string }).wasmWorkerContents.replace(/\n/g, '\\n');
  const workerFile = join(os.tmpdir(), `medtrain-${name}-${createHash('sha256').update(workerSource).digest('hex').slice(0, 16)}.worker.cjs`);
  if (!existsSync(workerFile)) writeFileAtomicSync(workerFile, workerSource);
  const binary = readFileSync(join(dir, `${name}.wasm`));
  // Emscripten sets globalThis.Worker to worker_threads' Worker and starts its pool with it. Give it
  // one whose threads do not inherit this process's loader flags (tsx): plain Node runs the worker
  // script, and loading the loader eight times would take seconds.
  const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
  class PoolWorker extends Worker {
    constructor(file: string, options: object = {}) {
      super(file, { ...options, execArgv: [] });
    }
  }
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PoolWorker, set: () => undefined });
  const module = await factory({
    locateFile: (path: string) => (path.endsWith('.worker.js') ? workerFile : join(dir, path)),
    mainScriptUrlOrBlob: join(dir, `${name}.js`),
    instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (instance: unknown, module: unknown) => void) => {
      // The C++ side takes half the logical cores (for hyperthreads) as its thread cap.
      imports.env.emscripten_num_logical_cores = () => 2 * threads;
      void wasmApi.instantiate(binary, imports).then((r) => receive(r.instance, r.module));
      return {};
    },
  }).finally(() => Object.defineProperty(globalThis, 'Worker', { configurable: true, writable: true, value: PoolWorker }));
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

/** A threaded start that takes longer than this is abandoned for the single-threaded build. */
const START_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

let imported = false;
let requested = 1;
let running = 1;

export async function initWasm(opts: { activate: boolean }): Promise<{ simd: boolean; threads: number }> {
  const pkg = (await import('@tensorflow/tfjs-backend-wasm')) as unknown as WasmPackage;
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  if (!imported) {
    registerWasmTrainingKernels();
    requested = wasmThreadsRequest();
    if (requested > 1 && simd && typeof SharedArrayBuffer !== 'undefined') {
      const stock = tf.findBackendFactory('wasm')!;
      tf.removeBackend('wasm');
      tf.registerBackend(
        'wasm',
        async () => {
          try {
            const module = await withTimeout(threadedModule(requested), START_TIMEOUT_MS);
            pkg.setThreadsCount(requested);
            const backend = new pkg.BackendWasm(module);
            running = pkg.getThreadsCount();
            // The pool's threads are now running (parked), and Emscripten refs a worker while it runs a
            // thread: unref them so that they do not keep Node alive.
            for (const w of (module as { PThread?: { runningWorkers?: { unref?: () => void }[] } }).PThread?.runningWorkers ?? []) w.unref?.();
            return backend;
          } catch (e) {
            log.warn(`the threaded WASM build did not start (${(e as Error)?.message ?? e}); using one thread (MEDTRAIN_WASM_THREADS=off skips the attempt)`);
            running = 1;
            return stock();
          }
        },
        2,
      );
    } else {
      requested = 1;
    }
    imported = true;
  }
  if (opts.activate) {
    // Emscripten's process handlers would rethrow a user's uncaught error from inside its own source.
    const ok = await withoutNewProcessHandlers(() => tf.setBackend('wasm'));
    if (!ok) throw new Error('the wasm engine failed to start');
  }
  return { simd, threads: opts.activate ? running : requested };
}

/** Threads the WASM engine runs on (1 before it has started). */
export function wasmThreads(): number {
  return running;
}
