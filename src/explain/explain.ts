/**
 * `explain`: where a saved run's model looks, per image and class. For each image it writes, in
 * `<out>/<NNN>-<image name>/`:
 *
 *   <class>.png    the image (grey) with the map over it (jet colours, alpha by strength) and a
 *                  colour bar at the right (top: the map's maximum, bottom: 0)
 *   <class>.npy    the raw map, float32 [h, w] at the explained layer's resolution (NumPy's format:
 *                  numpy.load reads it with its shape)
 * and `<out>/explain.json`: per image its probabilities and, per explained class, the probability,
 * the map's shape, its maximum and its peak: the cell and the cell's centre in the image's pixels
 * (`frame: 'image'`), or in the model input's pixels when the run crops the lung field
 * (`frame: 'model-input'`). The overlay is drawn on the image itself, or on the model's input when
 * it crops.
 *
 * Classes: `classes` by name, or the `top` K most probable, or by default the classes the run labels
 * positive at its thresholds (at least the most probable one).
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { mkdir } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { MASKED, type CaseRecord } from '../core/types.js';
import { ImageDataGenerator } from '../data/generator.js';
import { getModelSpec } from '../models/registry.js';
import { openRun, readThresholds } from '../training/run/eval.js';
import { predictInputs } from '../training/run/predict.js';
import { MedtrainError, listForMessage } from '../util/errors.js';
import { writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { classMaps, HEATMAP_METHODS, type HeatmapMethod } from './maps.js';
import { splitAt } from './split.js';
import { npy, overlayPng } from './render.js';

const log = createLogger('explain');

export interface ExplainOptions {
  /** Class names to explain (each image). */
  classes?: readonly string[];
  /** Explain each image's K most probable classes. */
  top?: number;
  method?: HeatmapMethod;
  /** The layer to explain; default: the model's last convolutional block (the registry's camLayer). */
  layer?: string;
  /** The output folder (default `<run>/explain-<method>`); written whole, replacing an earlier one. */
  out?: string | null;
  engine?: string;
  epoch?: number;
}

export interface ExplainedClass {
  class: string;
  probability: number;
  /** The map's cells: [h, w]. */
  shape: [number, number];
  max: number;
  peak: { row: number; col: number; x: number; y: number };
  png: string;
  npy: string;
}

export interface ExplainedImage {
  id: string;
  path: string;
  /** The image's size in pixels (width, height). */
  width: number;
  height: number;
  frame: 'image' | 'model-input';
  probabilities: Record<string, number>;
  maps: ExplainedClass[];
}

export interface ExplainResult {
  run: string;
  method: HeatmapMethod;
  layer: string;
  out: string;
  images: ExplainedImage[];
  skipped: { id: string; file: string; reason: string }[];
}

function folderName(i: number, path: string): string {
  return `${String(i + 1).padStart(3, '0')}-${basename(path, extname(path)).replace(/[^A-Za-z0-9._-]+/g, '_')}`;
}

const slug = (name: string) => name.replace(/[^A-Za-z0-9._-]+/g, '_');

/** Heatmaps of a run's model for images (see the top of this file). */
export async function explain(dir: string, inputs: readonly string[], o: ExplainOptions = {}): Promise<ExplainResult> {
  const method = o.method ?? 'gradcam';
  if (!HEATMAP_METHODS.includes(method)) throw new MedtrainError(`unknown heatmap method '${method}'`, { code: 'bad-flag', column: '--method', value: method, hint: `use one of ${HEATMAP_METHODS.join(', ')}` });
  if (o.top !== undefined && o.classes?.length) throw new MedtrainError('give --class or --top, not both', { code: 'bad-flag', column: '--top' });
  if (!inputs.length) throw new MedtrainError('nothing to explain', { code: 'bad-flag', hint: 'give an image or a folder after the flags' });
  const run = await openRun(dir, { epoch: o.epoch ?? 'best', engine: o.engine });
  try {
    const names = run.config.classes;
    const C = names.length;
    for (const c of o.classes ?? []) {
      if (!names.includes(c)) throw new MedtrainError(`the run has no class '${c}'`, { code: 'unknown-class', column: '--class', value: c, hint: `its classes: ${listForMessage(names, 20)}` });
    }
    if (o.top !== undefined && (!Number.isSafeInteger(o.top) || o.top < 1 || o.top > C)) throw new MedtrainError(`--top takes 1 to ${C} (the run's classes)`, { code: 'bad-flag', column: '--top', value: o.top });
    const layer = o.layer ?? getModelSpec(run.classifier.config.model).camLayer;
    const split = splitAt(run.classifier.logitsModel, layer);
    if (split.shape.length !== 3) throw new MedtrainError(`layer '${layer}' has no spatial map (its output shape is [${split.shape.join(', ')}])`, { code: 'unknown-layer', column: '--layer', value: layer, hint: `explain a convolutional layer, e.g. ${getModelSpec(run.classifier.config.model).camLayer}` });
    const files = await predictInputs(inputs);
    const records: CaseRecord[] = files.map((f) => ({ id: f.id, path: f.path, patientId: f.id, raw: new Float32Array(0), source: { file: f.path, line: 0 }, ...(/lateral/i.test(basename(f.path)) && { view: 'lateral' as const }) }));
    const b = run.benchmark;
    const gen = await ImageDataGenerator.create(records, new Float32Array(records.length * C).fill(MASKED), { batchSize: Math.min(b.batchSize, 16), dim: b.dim, preprocessing: run.classifier.preprocessing, transforms: b.transforms, crop: b.crop, mode: 'eval', logSkipped: false });
    const th = await readThresholds(run.store, names);
    const out = resolve(o.out ?? join(run.store.dir, `explain-${method === 'gradcam++' ? 'gradcampp' : method}`));
    const images: ExplainedImage[] = [];
    const byId = new Map(files.map((f, i) => [f.id, { ...f, index: i }]));
    await writeDirAtomic(out, async (tmp) => {
      try {
        for await (const batch of gen.batches(0)) {
          const x = tf.tensor4d(batch.x, [batch.size, b.dim, b.dim, 3]);
          try {
            const probs = tf.tidy(() => (run.classifier.model.predict(x) as tf.Tensor).dataSync() as Float32Array);
            // Which classes each image explains.
            const wanted = batch.ids.map((_, i) => {
              const p = Array.from(probs.subarray(i * C, (i + 1) * C));
              if (o.classes?.length) return o.classes.map((n) => names.indexOf(n));
              const order = p.map((v, c) => c).sort((a2, b2) => p[b2]! - p[a2]!);
              if (o.top !== undefined) return order.slice(0, o.top);
              const positive = order.filter((c) => p[c]! >= th[c]!);
              return positive.length ? positive : order.slice(0, 1);
            });
            const perClass = new Map<number, Awaited<ReturnType<typeof classMaps>>>();
            for (const c of new Set(wanted.flat())) perClass.set(c, await classMaps(split, x, c, method));
            for (const [i, id] of batch.ids.entries()) {
              const f = byId.get(id)!;
              const folder = folderName(f.index, f.path);
              await mkdir(join(tmp, folder), { recursive: true });
              const meta = await sharp(f.path).metadata();
              const frame = b.crop ? 'model-input' : 'image';
              const width = frame === 'image' ? meta.width! : b.dim;
              const height = frame === 'image' ? meta.height! : b.dim;
              const maps: ExplainedClass[] = [];
              for (const c of wanted[i]!) {
                const m = perClass.get(c)!;
                const cells = m.h * m.w;
                const map = m.maps.subarray(i * cells, (i + 1) * cells);
                let at = 0;
                for (let j = 1; j < cells; j++) if (map[j]! > map[at]!) at = j;
                const row = Math.floor(at / m.w);
                const col = at % m.w;
                const file = slug(names[c]!);
                const base = frame === 'image' ? { file: f.path } : { pixels: batch.x.subarray(i * b.dim * b.dim * 3, (i + 1) * b.dim * b.dim * 3), dim: b.dim };
                await writeFileAtomic(join(tmp, folder, `${file}.png`), await overlayPng(base, map, m.h, m.w));
                await writeFileAtomic(join(tmp, folder, `${file}.npy`), npy(map, [m.h, m.w]));
                maps.push({
                  class: names[c]!,
                  probability: probs[i * C + c]!,
                  shape: [m.h, m.w],
                  max: map[at]!,
                  peak: { row, col, x: ((col + 0.5) * width) / m.w, y: ((row + 0.5) * height) / m.h },
                  png: join(out, folder, `${file}.png`),
                  npy: join(out, folder, `${file}.npy`),
                });
              }
              images.push({ id, path: f.path, width, height, frame, probabilities: Object.fromEntries(names.map((n, c) => [n, probs[i * C + c]!])), maps });
            }
          } finally {
            x.dispose();
          }
        }
      } finally {
        await gen.close();
      }
      const skipped = gen.skipped.map((s) => ({ id: s.value ?? s.file, file: s.file, reason: s.reason }));
      if (!images.length) {
        const one = skipped.length === 1 ? skipped[0]! : null;
        throw new MedtrainError(one ? `the image could not be read: ${one.reason}` : `none of the ${skipped.length} images could be read`, { code: 'no-images', ...(one && { file: one.file }), hint: 'give JPEG, PNG, WebP, TIFF or BMP images' });
      }
      await writeJsonAtomic(join(tmp, 'explain.json'), { run: run.store.dir, method, layer: split.layer, model: run.model.description, images, skipped });
    });
    const skipped = gen.skipped.map((s) => ({ id: s.value ?? s.file, file: s.file, reason: s.reason }));
    log.info(`${method} heatmaps of ${images.length} image(s) at layer ${split.layer} in ${out}`);
    return { run: run.store.dir, method, layer: split.layer, out, images, skipped };
  } finally {
    run.classifier.dispose();
  }
}
