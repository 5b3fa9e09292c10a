/**
 * Ranking metrics and confusion counts of every class of a row-major [rows, classes] matrix: what
 * a per-class report needs, for all classes at once.
 *
 * Float32 scores (model outputs) take the fast path: a row-major sweep writes each class's packed
 * keys (float32 bits << 1 | label) side by side, then each class is radix-sorted and walked
 * (groups.ts). On a machine with more than one core and a large matrix, a helper thread does half
 * of the classes (sweep, sort, walk) while this thread does the other half: the matrix is copied
 * into shared memory, and the hand-off is synchronous (Atomics), so the API stays a plain function
 * call. The helper starts on the first large call (which runs on one thread while it boots), never
 * keeps the process alive, and if it ever fails to answer this thread does its share; the figures
 * are the same either way. MEDTRAIN_METRICS_THREADS=1 turns it off.
 *
 * Other inputs (float64 scores, and classes with negative or NaN scores) go through
 * `columnSummary` one column at a time.
 */
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort, type Worker, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { createLogger } from '../util/logger.js';
import { isWorkerOf, moduleWorker } from '../util/worker.js';
import { WALK_FIELDS, columnSummary, radixSort32, rankingOf, thresholdKey, walkPacked, type ColumnSummary, type Numbers } from './groups.js';

const log = createLogger('metrics');
const KIND = 'medtrain-metrics-helper';
/** Matrices smaller than this (elements) are done on one thread: the hand-off would cost more than it saves. */
export const PARALLEL_MIN_ELEMENTS = 1 << 20;
/** Per class in `stats`: labelled count, lowest and highest key, non-binary labels, odd (1: general path), threshold key. */
const STATS = 6;
/** Key offset of packed float32 bits >= 0 (key32(bits) = bits + 2^31). */
const NONNEG_MIN_KEY = 0x80000000;
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
const MAX_SHARED_CLASSES = 0xffff;
/** How long to wait for the helper to take a job, and for it to finish one more class, before doing its share here. */
const ACK_TIMEOUT_MS = 2000;
const STALL_MS = 30_000;

type LabelArray = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Int32Array | Uint16Array | Uint32Array;
type LabelType = 'Float32Array' | 'Float64Array' | 'Uint8Array' | 'Int8Array' | 'Int16Array' | 'Int32Array' | 'Uint16Array' | 'Uint32Array';
const LABEL_TYPES = { Float32Array, Float64Array, Uint8Array, Int8Array, Int16Array, Int32Array, Uint16Array, Uint32Array };

/** Scratch in shared memory; `scores` and `labels` (copies of the caller's matrix) only for two-thread calls. */
interface Scratch {
  gen: number;
  keys: Uint32Array;
  stats: Float64Array;
  results: Float64Array;
  scores: Float32Array;
  labels: LabelArray;
}

interface Helper {
  worker: Worker;
  port: MessagePort;
  ctrl: Int32Array;
  /** Generation of the buffers the helper has. */
  gen: number;
}

let scratch: Scratch | null = null;
let generation = 0;
let helper: Helper | null = null;
let helperBroken = false;
let tmp = new Uint32Array(0);

/**
 * Per-class summaries of a [rows, classes] matrix (as `columnSummary` of each column); a case is
 * predicted positive at class c when its score >= thresholds[c].
 */
export function summarizeColumns(scores: Numbers, labels: Numbers, numClasses: number, thresholds: readonly number[]): ColumnSummary[] {
  const C = numClasses;
  const rows = scores.length / C;
  const view = (c: number) => ({ offset: c, stride: C, length: rows });
  if (!(scores instanceof Float32Array) || rows === 0) return Array.from({ length: C }, (_, c) => columnSummary(scores, labels, view(c), thresholds[c]!));
  const h = rows * C >= PARALLEL_MIN_ELEMENTS && C > 1 && C <= MAX_SHARED_CLASSES ? readyHelper() : null;
  const s = (h && rankWithHelper(h, scores, labels, rows, C, thresholds)) || rankAlone(scores, labels, rows, C, thresholds);
  return Array.from({ length: C }, (_, c) => {
    const st = c * STATS;
    if (s.stats[st + 4]) return columnSummary(scores, labels, view(c), thresholds[c]!);
    const o = c * WALK_FIELDS;
    const m = s.stats[st]!;
    const P = s.results[o + 3]!;
    const tp = s.results[o + 4]!;
    const fp = s.results[o + 5]! - tp;
    return {
      labelled: m,
      labelledPositives: P,
      nonBinary: s.stats[st + 3]!,
      nanScores: 0,
      confusion: { tp, fp, fn: P - tp, tn: m - P - fp },
      ranking: rankingOf(s.results, o),
    };
  });
}

function rankAlone(scores: Float32Array, labels: Numbers, rows: number, C: number, thresholds: readonly number[]): Scratch {
  const s = scratchFor(rows * C, C, null);
  setThresholds(s, thresholds, C);
  sweep(new Uint32Array(scores.buffer, scores.byteOffset, scores.length), labels, rows, C, 0, C, s.keys, s.stats);
  for (let c = 0; c < C; c++) if (!s.stats[c * STATS + 4]) rankClass(s, rows, c);
  return s;
}

/** The two-thread path on a shared copy of the matrix; null (the helper retired) when the helper let it down. */
function rankWithHelper(h: Helper, scores: Float32Array, labels: Numbers, rows: number, C: number, thresholds: readonly number[]): Scratch | null {
  const s = scratchFor(rows * C, C, sharedLabelType(labels));
  s.scores.set(scores);
  s.labels.set(labels);
  setThresholds(s, thresholds, C);
  const failure = runWithHelper(h, s, rows, C);
  if (!failure) return s;
  retireHelper(failure);
  return null;
}

function setThresholds(s: Scratch, thresholds: readonly number[], C: number): void {
  for (let c = 0; c < C; c++) s.stats[c * STATS + 5] = thresholdKey(thresholds[c]!);
}

/**
 * One row-major pass over classes [a, b): each one's labelled cases as packed keys at
 * keys[c * rows ...]; then each class's lowest and highest key. (Keeping the sweep's inner loop this
 * small is what makes it fast: the range in the same loop measured twice as slow.)
 */
function sweep(bits: Uint32Array, labels: Numbers, rowsIn: number, classes: number, a: number, b: number, keys: Uint32Array, stats: Float64Array): void {
  const rows = rowsIn | 0; // integer arithmetic for the indices below
  const C = classes | 0;
  const at = new Int32Array(C);
  const nonBinary = new Int32Array(C);
  const odd = new Uint8Array(C);
  for (let c = a; c < b; c++) at[c] = c * rows;
  for (let i = 0, row = 0; i < rows; i++, row += C) {
    for (let c = a, j = row + a; c < b; c++, j++) {
      const y = labels[j]!;
      let pos = y;
      if (y !== 0 && y !== 1) {
        if (!(y >= 0)) continue; // masked
        pos = y >= 0.5 ? 1 : 0;
        nonBinary[c]!++;
      }
      const x = bits[j]!;
      if (x > 0x7f800000) odd[c] = 1;
      keys[at[c]!++] = (x << 1) | pos;
    }
  }
  for (let c = a; c < b; c++) {
    const st = c * STATS;
    stats[st] = at[c]! - c * rows;
    keyRange(keys, c * rows, at[c]!, stats, st);
    stats[st + 3] = nonBinary[c]!;
    stats[st + 4] = odd[c]!;
  }
}

function keyRange(keys: Uint32Array, start: number, end: number, stats: Float64Array, st: number): void {
  let lo = 0xffffffff;
  let hi = 0;
  for (let i = start; i < end; i++) {
    const x = keys[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  stats[st + 1] = lo;
  stats[st + 2] = hi;
}

/** Sort and walk one class, results to `results`. */
function rankClass(s: Scratch, rows: number, c: number): void {
  // Integers out of the float64 stats (V8 then keeps the loops below in integer arithmetic).
  const st = c * STATS;
  const start = (c * rows) | 0;
  const m = s.stats[st]! | 0;
  if (tmp.length < m) tmp = new Uint32Array(Math.max(m, tmp.length * 2));
  const sorted = m > 0 ? radixSort32(s.keys.subarray(start, start + m), tmp, m, s.stats[st + 1]! >>> 0, s.stats[st + 2]! >>> 0) : s.keys;
  walkPacked(sorted, m, NONNEG_MIN_KEY, s.stats[st + 5]!, s.results, c * WALK_FIELDS);
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

/** The typed-array type the shared copy of `labels` takes (the same, or Float64Array for plain arrays). */
function sharedLabelType(labels: Numbers): LabelType {
  const name = (labels as { constructor?: { name?: string } }).constructor?.name;
  return name && name in LABEL_TYPES ? (name as LabelType) : 'Float64Array';
}

/** Shared scratch for `elements` keys and `C` classes (with room for a copy of the matrix when labelType is given); new buffers get a new generation. */
function scratchFor(elements: number, C: number, labelType: LabelType | null): Scratch {
  const s = scratch;
  const copyNeeded = labelType ? elements : 0;
  if (
    !s ||
    s.keys.length < elements ||
    s.stats.length < C * STATS ||
    s.results.length < C * WALK_FIELDS ||
    s.scores.length < copyNeeded ||
    (labelType && (s.labels.length < elements || s.labels.constructor.name !== labelType))
  ) {
    const size = (need: number, have: number | undefined) => Math.max(need, have ?? 0);
    const labelsLength = labelType ? size(elements, s?.labels.constructor.name === labelType ? s.labels.length : 0) : 0;
    scratch = {
      gen: ++generation,
      keys: new Uint32Array(new SharedArrayBuffer(4 * size(elements, s?.keys.length))),
      stats: new Float64Array(new SharedArrayBuffer(8 * size(C * STATS, s?.stats.length))),
      results: new Float64Array(new SharedArrayBuffer(8 * size(C * WALK_FIELDS, s?.results.length))),
      scores: new Float32Array(new SharedArrayBuffer(4 * size(copyNeeded, s?.scores.length))),
      labels: labelView(labelType ?? 'Uint8Array', labelsLength),
    };
  }
  return scratch!;
}

/** A shared typed array of `type`: a new one of `size` elements, or a view of `buffer`. */
function labelView(type: LabelType, size: number | SharedArrayBuffer): LabelArray {
  const Labels = LABEL_TYPES[type] as unknown as new (b: SharedArrayBuffer) => LabelArray;
  return new Labels(typeof size === 'number' ? new SharedArrayBuffer(LABEL_TYPES[type].BYTES_PER_ELEMENT * size) : size);
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

/** The helper when it is up; starts it (for later calls) when it is not. */
function readyHelper(): Helper | null {
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
  scratch = null; // a helper that is late must not write into buffers still in use
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
