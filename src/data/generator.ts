/**
 * ImageDataGenerator: epochs of batches (images [B, D, D, 3] float32 in the model's preprocessing,
 * labels [B, C] with MASKED where not labelled) from records and encoded labels.
 *
 * - Resumable: the batches of epoch e depend only on (seed, e): the order comes from
 *   Rng(seed).fork(`order/${e}`), each sample's augmentation from its own seed
 *   `${seed}/aug/${e}/${position}`, so a resumed run sees exactly what an uninterrupted one would,
 *   and the worker pool gives exactly the batches of the single-threaded path.
 * - Training: the epoch plan of sampling.ts (seeded shuffle per epoch, per-class upsampling,
 *   class-balanced sampling, drop-last), then augmentation.
 *   Evaluation (`mode: 'eval'`): none of those; every row once, in order.
 * - Decoding, transforms and augmentation run in a pool of worker threads with prefetch; an
 *   optional on-disk cache keeps prepared (resized, transformed) images keyed by those settings.
 * - Bad images (missing, truncated, corrupt): `skip` (default: left out of their batch, named in
 *   `skipped` and the log) or `fail` (an error naming the table row and the file).
 */
import { promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { PREPROCESSING_MODES, type PreprocessingMode } from '../core/preprocessing.js';
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { parseAugment, type AugmentConfig } from './augment.js';
import { buildBatch, cacheEntryName, cacheFolderName, type BatchPixels, type PipelineSettings, type SampleTask } from './batch-builder.js';
import { parseTransforms, type IntensityTransform, type WindowSpec } from './image/intensity.js';
import { DEFAULT_IMAGE_SETTINGS, type CropMode, type FitMode, type ImageSettings } from './image/prepare.js';
import { WorkerPool } from './pool.js';
import { batchCount, epochOrder, epochRows, resolveUpsample, rowLabels, type SamplingOptions } from './sampling.js';
import type { BadInputPolicy, Batch, CaseRecord, SkippedItem } from '../core/types.js';

const log = createLogger('data');

export interface GeneratorOptions {
  batchSize: number;
  /** Model input side D. */
  dim: number;
  /** Side the image is resized to before augmentation; the model input is then cropped from it (default: dim). */
  resize?: number;
  /** The model's input preprocessing, applied at batch time (default 'none': pixels in [0, 255]). */
  preprocessing?: PreprocessingMode;
  /** 'train' (default) or 'eval' (validation/test: no augmentation, upsampling, balancing, shuffle or drop-last). */
  mode?: 'train' | 'eval';
  /** Augmentation pipeline, e.g. 'affine,color' (training only). */
  augment?: string | readonly string[] | AugmentConfig | null;
  /** Intensity transforms, e.g. 'sharp21_hist'. */
  transforms?: string | readonly IntensityTransform[] | null;
  /** 'none' (default), 'centre', 'lung' (lung field of frontal views; `true` = 'lung', as C1). */
  crop?: CropMode | boolean;
  fit?: FitMode;
  colour?: 'auto' | 'grey';
  window?: WindowSpec;
  /** Shuffle each epoch (default: true in training). */
  shuffle?: boolean;
  /** Per-class upsampling factors (by class name with `classNames`, or by class index). */
  upsample?: Readonly<Record<string, number>> | readonly number[] | null;
  classNames?: readonly string[];
  /** Class-balanced sampling: each sample draws a class (or "no positive label") uniformly, then one of its rows. */
  balanced?: boolean;
  /** Drop the last incomplete batch (default: false). */
  dropLast?: boolean;
  seed?: string | number;
  /** Worker threads (0 = build batches in this thread). Default: cores − 1, at least 1, at most 8. */
  workers?: number;
  /** Batches in flight (default: 2 per worker, at least 2). */
  prefetch?: number;
  /** Folder for the on-disk cache of prepared images (null: no cache). */
  cache?: string | null;
  /** Bad images: 'skip' (default) or 'fail'. */
  policy?: BadInputPolicy;
  /** Check every file exists before the first epoch (default true); missing ones are skipped or fail by the policy. */
  checkFiles?: boolean;
  /**
   * Log a warning for each skipped image (default true). False when the caller reports each one
   * itself from `skipped` (predict names them in its result), so no image is reported twice.
   */
  logSkipped?: boolean;
}

export interface DataThroughput {
  images: number;
  batches: number;
  seconds: number;
  imagesPerSecond: number;
  /** Seconds the consumer waited for a batch. */
  waitSeconds: number;
  cacheHits: number;
  cropFallbacks: number;
}

interface Built {
  batch: Batch;
  cacheHits: number;
  cropFallbacks: number;
}

const emptyThroughput = (): DataThroughput => ({ images: 0, batches: 0, seconds: 0, imagesPerSecond: 0, waitSeconds: 0, cacheHits: 0, cropFallbacks: 0 });

export class ImageDataGenerator {
  readonly numClasses: number;
  readonly settings: PipelineSettings;
  readonly batchSize: number;
  readonly mode: 'train' | 'eval';
  readonly shuffle: boolean;
  readonly balanced: boolean;
  readonly dropLast: boolean;
  readonly seed: string;
  readonly workers: number;
  readonly prefetch: number;
  readonly policy: BadInputPolicy;
  /** Images left out (missing, corrupt, ...), each once, with the table row that named it. */
  readonly skipped: SkippedItem[] = [];
  private readonly upsample: number[] | null;
  private readonly sampling: SamplingOptions;
  private readonly checkFiles: boolean;
  private readonly logSkipped: boolean;
  private readonly cacheRoot: string | null;
  private cacheKeys: (string | undefined)[] | null = null;
  private usable: Int32Array;
  private base: Int32Array | null = null;
  private prepared: Promise<void> | null = null;
  private pool: WorkerPool | null = null;
  private readonly skippedPaths = new Set<string>();
  private last: DataThroughput = emptyThroughput();
  private total: DataThroughput = emptyThroughput();

  constructor(
    readonly records: readonly CaseRecord[],
    readonly labels: Float32Array,
    opts: GeneratorOptions,
  ) {
    const bad = (what: string, value: unknown, hint?: string) => new MedtrainError(`ImageDataGenerator: ${what}`, { code: 'bad-option', value, ...(hint && { hint }) });
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) throw bad('batchSize must be a positive integer', opts.batchSize);
    if (!Number.isInteger(opts.dim) || opts.dim < 8) throw bad('dim must be an integer >= 8', opts.dim);
    const size = opts.resize ?? opts.dim;
    if (!Number.isInteger(size) || size < opts.dim) throw bad('resize must be an integer >= dim', size);
    const preprocessing = opts.preprocessing ?? 'none';
    if (!PREPROCESSING_MODES.includes(preprocessing)) throw bad('unknown preprocessing mode', preprocessing, `use ${PREPROCESSING_MODES.join(', ')}`);
    if (records.length > 0 && labels.length % records.length !== 0) throw bad(`${labels.length} labels do not divide into ${records.length} records`, labels.length);
    this.numClasses = records.length ? labels.length / records.length : 0;
    this.mode = opts.mode ?? 'train';
    const train = this.mode === 'train';
    this.batchSize = opts.batchSize;
    this.shuffle = train && (opts.shuffle ?? true);
    this.balanced = train && !!opts.balanced;
    this.dropLast = train && !!opts.dropLast;
    this.seed = String(opts.seed ?? 0);
    this.policy = opts.policy ?? 'skip';
    this.checkFiles = opts.checkFiles ?? true;
    this.logSkipped = opts.logSkipped ?? true;
    const cores = availableParallelism();
    this.workers = opts.workers ?? Math.max(1, Math.min(8, cores - 1));
    this.prefetch = Math.max(1, opts.prefetch ?? Math.max(2, 2 * this.workers));
    this.upsample = train && opts.upsample ? resolveUpsample(opts.upsample, this.numClasses, opts.classNames) : null;
    this.sampling = { numClasses: this.numClasses, seed: this.seed, shuffle: this.shuffle, balanced: this.balanced, upsample: this.upsample };
    const crop: CropMode = opts.crop === true ? 'lung' : opts.crop === false || opts.crop === undefined ? 'none' : opts.crop;
    const image: ImageSettings = {
      ...DEFAULT_IMAGE_SETTINGS,
      size,
      crop,
      ...(opts.fit && { fit: opts.fit }),
      ...(opts.colour && { colour: opts.colour }),
      ...(opts.window && { window: opts.window }),
      transforms: parseTransforms(opts.transforms ?? null),
    };
    this.cacheRoot = opts.cache ? resolve(opts.cache) : null;
    this.settings = {
      image,
      dim: opts.dim,
      augment: train ? parseAugment(opts.augment ?? null) : null,
      preprocessing,
      cacheDir: this.cacheRoot ? join(this.cacheRoot, cacheFolderName(image)) : null,
    };
    this.usable = Int32Array.from(records.keys());
  }

  /** Make a generator and check its files (so `size` and `numBatches` are final). */
  static async create(records: readonly CaseRecord[], labels: Float32Array, opts: GeneratorOptions): Promise<ImageDataGenerator> {
    const g = new ImageDataGenerator(records, labels, opts);
    await g.prepare();
    return g;
  }

  /** Check files (and read their identity for the cache); idempotent. */
  prepare(): Promise<void> {
    this.prepared ??= this.checkAndIndex();
    return this.prepared;
  }

  private async checkAndIndex(): Promise<void> {
    if (!this.checkFiles && !this.cacheRoot) return;
    const keys: (string | undefined)[] = new Array(this.records.length);
    const ok = new Uint8Array(this.records.length);
    let next = 0;
    const work = async () => {
      while (next < this.records.length) {
        const i = next++;
        const r = this.records[i]!;
        try {
          const st = await fsp.stat(r.path);
          if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
          if (st.size === 0) throw Object.assign(new Error('empty'), { code: 'EMPTY' });
          keys[i] = cacheEntryName(r.path, st.size, st.mtimeMs, r.view);
          ok[i] = 1;
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (!this.checkFiles) continue;
          this.badImage(r, code === 'ENOENT' ? 'missing file' : code === 'EISDIR' ? 'not a file' : code === 'EMPTY' ? 'empty file' : `unreadable file (${code})`);
        }
      }
    };
    await Promise.all(Array.from({ length: 32 }, work));
    if (this.cacheRoot) this.cacheKeys = keys;
    if (this.checkFiles) {
      this.usable = Int32Array.from(this.records.keys()).filter((i) => ok[i] === 1);
      this.base = null;
    }
  }

  private badImage(r: CaseRecord, reason: string): void {
    if (this.policy === 'fail') {
      throw new MedtrainError(`image ${reason}: ${r.path}`, {
        code: 'bad-image',
        file: r.source.file,
        line: r.source.line,
        column: 'Path',
        value: r.id,
        hint: 'fix or remove the image (or its row), or use the skip policy to leave bad images out',
      });
    }
    if (this.skippedPaths.has(r.path)) return;
    this.skippedPaths.add(r.path);
    this.skipped.push({ file: r.path, reason, value: r.id, source: r.source });
    if (this.logSkipped) log.warn(`skipped image ${r.path}: ${reason} (${r.source.file}:${r.source.line})`);
  }

  /** Rows an epoch draws from: the usable records plus upsampled copies (record indices). */
  private baseRows(): Int32Array {
    this.base ??= epochRows(this.usable, this.labels, this.sampling);
    return this.base;
  }

  /** Rows per epoch (after file checks and upsampling). */
  get size(): number {
    return this.baseRows().length;
  }

  get numBatches(): number {
    return batchCount(this.size, this.batchSize, this.dropLast);
  }

  /** Encoded labels of the rows an epoch draws from (after upsampling): what class weights are computed on. */
  epochLabels(): Float32Array {
    return rowLabels(this.baseRows(), this.labels, this.numClasses);
  }

  /** Record indices of epoch e, in batch order. Depends only on (seed, e). */
  epochOrder(e: number): Int32Array {
    return epochOrder(this.baseRows(), this.labels, e, this.sampling);
  }

  private ensurePool(): WorkerPool | null {
    if (this.workers === 0) return null;
    this.pool ??= new WorkerPool(this.workers, this.settings);
    return this.pool;
  }

  /** The Trainer's DataSource: the batches of one epoch (as `epoch(e)`). */
  batches(epoch: number): AsyncGenerator<Batch> {
    return this.epoch(epoch);
  }

  /** Batches per epoch (the Trainer's DataSource.steps). */
  get steps(): number {
    return this.numBatches;
  }

  /** The batches of epoch e (from batch `fromBatch` on, to resume mid-epoch). */
  async *epoch(e: number, opts: { fromBatch?: number } = {}): AsyncGenerator<Batch> {
    await this.prepare();
    const order = this.epochOrder(e);
    const nb = this.numBatches;
    const pool = this.ensurePool();
    const queue: Promise<Built>[] = [];
    let next = Math.max(0, opts.fromBatch ?? 0);
    const launch = () => {
      const p = this.makeBatch(e, next++, order, pool);
      p.catch(() => undefined); // handled where it is awaited; this keeps an abandoned epoch from reporting it
      queue.push(p);
    };
    const t: DataThroughput = emptyThroughput();
    const t0 = performance.now();
    try {
      while (queue.length < this.prefetch && next < nb) launch();
      while (queue.length > 0) {
        const w0 = performance.now();
        const { batch, cacheHits, cropFallbacks } = await queue.shift()!;
        t.waitSeconds += (performance.now() - w0) / 1000;
        t.cacheHits += cacheHits;
        t.cropFallbacks += cropFallbacks;
        if (next < nb) launch();
        if (batch.size === 0) continue;
        t.images += batch.size;
        t.batches++;
        yield batch;
      }
    } finally {
      t.seconds = (performance.now() - t0) / 1000;
      t.imagesPerSecond = t.seconds > 0 ? t.images / t.seconds : 0;
      this.last = t;
      for (const k of ['images', 'batches', 'seconds', 'waitSeconds', 'cacheHits', 'cropFallbacks'] as const) this.total[k] += t[k];
      this.total.imagesPerSecond = this.total.seconds > 0 ? this.total.images / this.total.seconds : 0;
      log.debug(`epoch ${e}: ${t.images} images in ${t.seconds.toFixed(2)} s (${t.imagesPerSecond.toFixed(0)} images/s), waited ${t.waitSeconds.toFixed(2)} s for data`);
    }
  }

  private async makeBatch(e: number, b: number, order: Int32Array, pool: WorkerPool | null): Promise<Built> {
    const B = this.batchSize;
    const from = b * B;
    const to = Math.min(order.length, from + B);
    const tasks: SampleTask[] = [];
    for (let p = from; p < to; p++) {
      const r = this.records[order[p]!]!;
      const key = this.cacheKeys?.[order[p]!];
      tasks.push({ path: r.path, ...(r.view && { view: r.view }), ...(key && { cacheKey: key }), seed: `${this.seed}/aug/${e}/${p}` });
    }
    const px: BatchPixels = pool ? await pool.run(tasks) : await buildBatch(this.settings, tasks);
    for (const f of px.failed) this.badImage(this.records[order[from + f.index]!]!, f.reason);
    const C = this.numClasses;
    const y = new Float32Array(px.ok.length * C);
    const ids: string[] = [];
    px.ok.forEach((k, i) => {
      const r = order[from + k]!;
      y.set(this.labels.subarray(r * C, (r + 1) * C), i * C);
      ids.push(this.records[r]!.id);
    });
    const batch: Batch = { x: px.x, y, ids, size: px.ok.length, dim: this.settings.dim, numClasses: C, epoch: e, index: b };
    return { batch, cacheHits: px.cacheHits, cropFallbacks: px.cropFallbacks };
  }

  /** Images/s of the last epoch and of all epochs so far. */
  throughput(): { lastEpoch: DataThroughput; total: DataThroughput } {
    return { lastEpoch: { ...this.last }, total: { ...this.total } };
  }

  /** Stop the worker threads (they also let the process exit when idle). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = null;
    await p?.close();
  }
}
