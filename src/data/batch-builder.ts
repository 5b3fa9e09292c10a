/**
 * Builds the pixels of one batch: read (or take from the on-disk cache) → decode → crop → resize →
 * intensity → augment → model preprocessing. The same function runs in the worker threads and in the
 * calling thread, so both give identical batches: every random draw comes from the sample's own seed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { preprocessInPlace, type PreprocessingMode } from '../core/preprocessing.js';
import { Rng } from '../util/rng.js';
import { drawTransform, renderSample, type AugmentConfig } from './augment.js';
import { decodeImage, ImageDecodeError } from './image/decode.js';
import { prepareImage, type ImageSettings, type PreparedImage } from './image/prepare.js';

export interface PipelineSettings {
  image: ImageSettings;
  /** Model input side. */
  dim: number;
  augment: AugmentConfig | null;
  preprocessing: PreprocessingMode;
  /** Folder of cached prepared images for these settings, or null. */
  cacheDir: string | null;
}

export interface SampleTask {
  path: string;
  view?: string;
  /** File name in the cache folder (depends on the file's path, size and mtime), or undefined for no cache. */
  cacheKey?: string;
  /** Seed of this sample's augmentation draws. */
  seed: string;
}

export interface BatchPixels {
  /** [ok.length, dim, dim, 3], possibly a view on a larger buffer. */
  x: Float32Array;
  /** Indices (into the tasks) of the samples in x, in order. */
  ok: number[];
  failed: { index: number; reason: string }[];
  cropFallbacks: number;
  cacheHits: number;
}

/** The cache folder's name for a set of settings: prepared pixels depend on nothing else. */
export function cacheFolderName(image: ImageSettings): string {
  return `v2-${createHash('sha1').update(JSON.stringify(image)).digest('hex').slice(0, 16)}`;
}

/** A cache entry's name: the file's identity (path, size, modification time) and whether a lung crop applies. */
export function cacheEntryName(path: string, size: number, mtimeMs: number, view: string | undefined): string {
  return `${createHash('sha1').update(`${path}\0${size}\0${mtimeMs}\0${view === 'lateral' ? 'L' : 'F'}`).digest('hex')}.px`;
}

const MAGIC = 0x3243544d; // 'MTC2'
let writeCount = 0;

function readCached(file: string): PreparedImage | null {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return null;
  }
  if (buf.length < 12 || buf.readUInt32LE(0) !== MAGIC) return null;
  const width = buf.readUInt32LE(4) >>> 16;
  const height = buf.readUInt32LE(4) & 0xffff;
  const channels = buf[8];
  if ((channels !== 1 && channels !== 3) || buf.length !== 12 + width * height * channels) return null;
  return { data: new Uint8Array(buf.buffer, buf.byteOffset + 12, width * height * channels), width, height, channels, ...(buf[9] === 1 && { cropFallback: true }) };
}

function writeCached(file: string, img: PreparedImage): void {
  const head = Buffer.alloc(12);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(((img.width << 16) | img.height) >>> 0, 4);
  head[8] = img.channels;
  head[9] = img.cropFallback ? 1 : 0;
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${writeCount++}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, Buffer.concat([head, img.data]));
    renameSync(tmp, file);
  } catch {
    // A cache that cannot be written only costs speed.
  }
}

async function loadPrepared(s: PipelineSettings, t: SampleTask): Promise<{ img: PreparedImage; hit: boolean }> {
  const cacheFile = s.cacheDir && t.cacheKey ? join(s.cacheDir, t.cacheKey.slice(0, 2), t.cacheKey) : null;
  if (cacheFile) {
    const img = readCached(cacheFile);
    if (img) return { img, hit: true };
  }
  let buf: Buffer;
  try {
    buf = readFileSync(t.path); // one synchronous read: cheaper than four thread-pool hops, and workers have no event loop to keep free
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageDecodeError(code === 'ENOENT' ? 'missing file' : code === 'EISDIR' ? 'not a file' : `unreadable file (${code ?? (e as Error).message})`);
  }
  const img = prepareImage(await decodeImage(buf, { target: s.image.size }), s.image, t.view);
  if (cacheFile) writeCached(cacheFile, img);
  return { img, hit: false };
}

/** Pixels for a batch of samples. Samples that fail (missing, truncated, corrupt) are listed, not thrown. */
export async function buildBatch(s: PipelineSettings, tasks: readonly SampleTask[]): Promise<BatchPixels> {
  const per = s.dim * s.dim * 3;
  const x = new Float32Array(tasks.length * per);
  const ok: number[] = [];
  const failed: BatchPixels['failed'] = [];
  let cropFallbacks = 0;
  let cacheHits = 0;
  for (let i = 0; i < tasks.length; i++) {
    const t = tasks[i]!;
    let img: PreparedImage;
    try {
      const r = await loadPrepared(s, t);
      img = r.img;
      if (r.hit) cacheHits++;
    } catch (e) {
      if (!(e instanceof ImageDecodeError)) throw e;
      failed.push({ index: i, reason: e.message });
      continue;
    }
    if (img.cropFallback) cropFallbacks++;
    const tr = drawTransform(s.augment, s.augment ? new Rng(t.seed) : null, s.image.size, s.dim);
    renderSample(img, s.image.size, tr, s.dim, x, ok.length * per);
    ok.push(i);
  }
  const out = x.subarray(0, ok.length * per);
  preprocessInPlace(out, s.preprocessing);
  return { x: out, ok, failed, cropFallbacks, cacheHits };
}
