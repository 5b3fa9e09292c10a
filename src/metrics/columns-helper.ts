/**
 * The helper thread of `summarizeColumns` (columns.ts). On a machine with more than one core and a
 * large matrix, a helper thread does half of the classes (sweep, sort, walk: columns-sweep.ts) while
 * the calling thread does the other half: the matrix is copied into shared memory, and the hand-off
 * is synchronous (Atomics control words), so the API stays a plain function call. The helper starts
 * on the first large call (which runs on one thread while it boots), never keeps the process alive,
 * and if it ever fails to answer the calling thread does its share; the figures are the same either
 * way. MEDTRAIN_METRICS_THREADS=1 turns it off.
 *
 * This module is the helper's entry: `startHelper` starts a worker on it (src/util/worker.ts), and
 * in that worker (workerData.kind === KIND) it runs `serve`.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createLogger } from '../util/logger.js';
import { isWorkerOf, moduleWorker } from '../util/worker.js';
import { STATS, dropScratch, labelView, rankClass, scratchFor, setThresholds, sharedLabelType, sweep, type LabelType, type Scratch } from './columns-sweep.js';
import type { Numbers } from './types.js';

const log = createLogger('metrics');
const KIND = 'medtrain-metrics-helper';
// Control words (Int32Array over a SharedArrayBuffer).
const JOB = 0; // job number, bumped by the caller
const DONE = 1; // last job finished by the helper
const READY = 2; // 1 once the helper waits for jobs
const ACK = 3; // last job the helper took (the caller cancels a job the helper is too late for by setting -1)
const FAILED = 4; // 1 when the helper's last job threw
const SPLIT = 5; // the caller sweeps classes [0, SPLIT), the helper [SPLIT, CLASSES)
const CLAIM = 6; // classes not yet ranked: [CLAIM >>> 16, CLAIM & 0xffff); the caller takes from the bottom, the helper from the top
const SWEPT_LOW = 7; // 1 once [0, SPLIT) is swept
const SWEPT_HIGH = 8; // 1 once [SPLIT, CLASSES) is swept
const BEAT = 9; // bumped after each class the helper finishes
const GEN = 10; // generation of the shared buffers the job uses
const ROWS = 11;
const CLASSES = 12;
const CTRL_WORDS = 13;
/** Most classes the two-thread path takes (CLAIM packs two class numbers into 16 bits each). */
export const MAX_SHARED_CLASSES = 0xffff;
/** How long to wait for the helper to take a job, and for it to finish one more class, before doing its share here. */
const ACK_TIMEOUT_MS = 2000;
const STALL_MS = 30_000;

export interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  /** Generation of the buffers the helper has. */
  gen: number;
}

let helper: Helper | null = null;
let helperBroken = false;

/** The two-thread path on a shared copy of the matrix; null (the helper retired) when the helper let it down. */
export function rankWithHelper(h: Helper, scores: Float32Array, labels: Numbers, rows: number, C: number, thresholds: readonly number[]): Scratch | null {
  const s = scratchFor(rows * C, C, sharedLabelType(labels));
  s.scores.set(scores);
  s.labels.set(labels);
  setThresholds(s, thresholds, C);
  const failure = runWithHelper(h, s, rows, C);
  if (!failure) return s;
  retireHelper(failure);
  return null;
}

/**
 * Two threads over the shared copy of the matrix: this one sweeps the lower half of the classes,
 * the helper the upper half; then both rank classes, this one from the bottom and the helper from
 * the top, until they meet (so a slower thread takes fewer). Returns why the helper let the job
 * down (it did not take it, failed or stalled: then nothing written into `s` is to be trusted), or null.
 */
function runWithHelper(h: Helper, s: Scratch, rows: number, C: number): string | null {
  const split = C >> 1;
  if (h.gen !== s.gen) {
    h.port.postMessage({ gen: s.gen, keys: s.keys.buffer, stats: s.stats.buffer, results: s.results.buffer, scores: s.scores.buffer, labels: s.labels.buffer, labelType: s.labels.constructor.name });
    h.gen = s.gen;
  }
  const { ctrl } = h;
  Atomics.store(ctrl, SPLIT, split);
  Atomics.store(ctrl, CLAIM, C); // [0, C)
  Atomics.store(ctrl, SWEPT_LOW, 0);
  Atomics.store(ctrl, SWEPT_HIGH, 0);
  Atomics.store(ctrl, FAILED, 0);
  Atomics.store(ctrl, ROWS, rows);
  Atomics.store(ctrl, CLASSES, C);
  Atomics.store(ctrl, GEN, s.gen);
  const seq = Atomics.add(ctrl, JOB, 1) + 1;
  Atomics.notify(ctrl, JOB);
  sweep(new Uint32Array(s.scores.buffer, 0, rows * C), s.labels, rows, C, 0, split, s.keys, s.stats);
  Atomics.store(ctrl, SWEPT_LOW, 1);
  Atomics.notify(ctrl, SWEPT_LOW);
  if (!helperTook(ctrl, seq)) return 'did not take a job';
  if (!rankClaimed(s, ctrl, rows, true)) return 'failed';
  let beat = Atomics.load(ctrl, BEAT);
  while (Atomics.load(ctrl, DONE) !== seq) {
    if (Atomics.wait(ctrl, DONE, seq - 1, STALL_MS) !== 'timed-out') continue;
    const now = Atomics.load(ctrl, BEAT);
    if (now === beat && Atomics.load(ctrl, DONE) !== seq) return 'stalled';
    beat = now;
  }
  return Atomics.load(ctrl, FAILED) ? 'failed' : null;
}

/** Whether the helper took job `seq`; if it has not within ACK_TIMEOUT_MS, the job is cancelled (the helper skips it if it wakes later). */
function helperTook(ctrl: Int32Array, seq: number): boolean {
  if (Atomics.load(ctrl, ACK) === seq) return true;
  Atomics.wait(ctrl, ACK, seq - 1, ACK_TIMEOUT_MS);
  return Atomics.compareExchange(ctrl, ACK, seq - 1, -1) !== seq - 1;
}

/**
 * Rank unclaimed classes, taking them from the bottom (the caller) or the top (the helper); a class
 * the other thread sweeps is ranked once that sweep is done. False when the helper failed.
 */
function rankClaimed(s: Scratch, ctrl: Int32Array, rows: number, fromBottom: boolean): boolean {
  const split = Atomics.load(ctrl, SPLIT);
  for (;;) {
    const v = Atomics.load(ctrl, CLAIM);
    const lo = v >>> 16;
    const hi = v & 0xffff;
    if (lo >= hi) return true;
    const next = fromBottom ? ((lo + 1) << 16) | hi : (lo << 16) | (hi - 1);
    if (Atomics.compareExchange(ctrl, CLAIM, v, next) !== v) continue;
    const c = fromBottom ? lo : hi - 1;
    const swept = c < split ? SWEPT_LOW : SWEPT_HIGH;
    while (Atomics.load(ctrl, swept) === 0) {
      if (Atomics.load(ctrl, FAILED)) return false;
      Atomics.wait(ctrl, swept, 0, 50);
    }
    if (Atomics.load(ctrl, FAILED)) return false;
    if (!s.stats[c * STATS + 4]) rankClass(s, rows, c);
    if (!fromBottom) Atomics.add(ctrl, BEAT, 1);
  }
}

/**
 * Start the helper thread now and resolve once it is ready: true when large calls will use two
 * threads, false when they cannot (one core, MEDTRAIN_METRICS_THREADS=1, or it failed to start).
 * Optional: the first large call starts it anyway.
 */
export async function startMetricsHelper(timeoutMs = 30_000): Promise<boolean> {
  readyHelper();
  const t0 = Date.now();
  while (helper && !helperBroken && Atomics.load(helper.ctrl, READY) !== 1 && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
  return readyHelper() !== null;
}

/** The number of the last job the helper finished (0 when there is no helper): how a test sees that a call used two threads. */
export function helperJobsDone(): number {
  return helper ? Atomics.load(helper.ctrl, DONE) : 0;
}

/** The helper when it is up; starts it (for later calls) when it is not. */
export function readyHelper(): Helper | null {
  if (helperBroken || isHelperThread() || threadsWanted() < 2) return null;
  if (!helper) {
    startHelper();
    return null;
  }
  return Atomics.load(helper.ctrl, READY) === 1 ? helper : null;
}

function threadsWanted(): number {
  const env = process.env.MEDTRAIN_METRICS_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (Number.isInteger(n) && n >= 1) return n;
    log.warn(`MEDTRAIN_METRICS_THREADS=${env} is not a whole number >= 1; using the default`);
  }
  return availableParallelism();
}

function isHelperThread(): boolean {
  return isWorkerOf(KIND);
}

function startHelper(): void {
  try {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
    const { port1, port2 } = new MessageChannel();
    // This module is the worker's entry: in the worker, isHelperThread() holds and it runs serve().
    const worker = moduleWorker(import.meta.url, { workerData: { kind: KIND, ctrl, port: port2 }, transferList: [port2] });
    worker.unref();
    port1.unref();
    worker.on('error', (e) => retireHelper(`stopped: ${String(e).split('\n')[0]}`));
    worker.on('exit', () => retireHelper('exited'));
    helper = { worker, port: port1, ctrl, gen: 0 };
  } catch (e) {
    retireHelper(`could not start: ${String(e)}`);
  }
}

function retireHelper(why: string): void {
  if (helperBroken) return;
  helperBroken = true;
  log.debug(`metrics helper thread ${why}; ranking metrics run on one thread`);
  if (helper) void helper.worker.terminate();
  helper = null;
  dropScratch(); // a helper that is late must not write into buffers still in use
}

interface ScratchMessage {
  gen: number;
  keys: SharedArrayBuffer;
  stats: SharedArrayBuffer;
  results: SharedArrayBuffer;
  scores: SharedArrayBuffer;
  labels: SharedArrayBuffer;
  labelType: LabelType;
}

/** The helper's loop: wait for a job, do its classes, say so. */
function serve(ctrl: Int32Array, port: MessagePort): void {
  let s: Scratch | null = null;
  Atomics.store(ctrl, READY, 1);
  let seen = Atomics.load(ctrl, JOB);
  for (;;) {
    Atomics.wait(ctrl, JOB, seen);
    const seq = Atomics.load(ctrl, JOB);
    if (seq === seen) continue;
    seen = seq;
    const gen = Atomics.load(ctrl, GEN);
    while (!s || s.gen !== gen) {
      const msg = receiveMessageOnPort(port)?.message as ScratchMessage | undefined;
      if (!msg) break;
      s = { gen: msg.gen, keys: new Uint32Array(msg.keys), stats: new Float64Array(msg.stats), results: new Float64Array(msg.results), scores: new Float32Array(msg.scores), labels: labelView(msg.labelType, msg.labels) };
    }
    if (Atomics.compareExchange(ctrl, ACK, seq - 1, seq) !== seq - 1) continue; // cancelled: the caller did it alone
    Atomics.notify(ctrl, ACK);
    try {
      if (!s || s.gen !== gen) throw new Error('no shared buffers for this job');
      const rows = Atomics.load(ctrl, ROWS);
      const C = Atomics.load(ctrl, CLASSES);
      sweep(new Uint32Array(s.scores.buffer, 0, rows * C), s.labels, rows, C, Atomics.load(ctrl, SPLIT), C, s.keys, s.stats);
      Atomics.store(ctrl, SWEPT_HIGH, 1);
      Atomics.notify(ctrl, SWEPT_HIGH);
      rankClaimed(s, ctrl, rows, false);
    } catch {
      Atomics.store(ctrl, FAILED, 1);
    }
    Atomics.store(ctrl, DONE, seq);
    Atomics.notify(ctrl, DONE);
  }
}

if (isHelperThread()) {
  const d = workerData as { ctrl: Int32Array; port: MessagePort };
  serve(d.ctrl, d.port);
}
