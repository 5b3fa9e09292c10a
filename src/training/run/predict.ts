/**
 * predictRun: probabilities and thresholded labels (thresholds.json, chosen on val) of a saved run's
 * best model (or a saved epoch's) for images: files, or every image under folders. Each prediction
 * has a unique id, the path as the user would write it, and its own image's probabilities.
 */
import { promises as fsp } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { ImageDataGenerator } from '../../data/generator.js';
import { MASKED, type CaseRecord } from '../../core/types.js';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { toCsv } from '../../util/csv.js';
import { predictSource } from '../sources.js';
import { openRun, readThresholds, type ModelChoice } from './eval.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger('evaluate');

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff', '.bmp']);

async function imagesIn(input: string): Promise<string[]> {
  const p = resolve(input);
  let st;
  try {
    st = await fsp.stat(p);
  } catch {
    throw new MedtrainError('no such image or folder', { code: 'missing-file', file: p, hint: 'give an image file or a folder of images' });
  }
  if (st.isFile()) return [p];
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of (await fsp.readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const f = join(d, e.name);
      if (e.isDirectory()) await walk(f);
      else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) out.push(f);
    }
  };
  await walk(p);
  if (!out.length) throw new MedtrainError('the folder holds no images', { code: 'no-data', file: p, hint: `image files end in ${[...IMAGE_EXT].join(', ')}` });
  return out;
}

export interface Prediction {
  /**
   * The image as the user would write it, unique in the result: the input as given for a file, the
   * folder as given joined with the path inside it for a folder's image (e.g. `a/study1/view1_frontal.jpg`).
   */
  id: string;
  /** The absolute path of the image. */
  path: string;
  probabilities: Record<string, number>;
  labels: Record<string, 0 | 1>;
}

export interface PredictResult {
  run: string;
  classes: string[];
  thresholds: Record<string, number>;
  predictions: Prediction[];
  /** Images that could not be read (not predicted), each once: its id (as in `predictions`), path and why. */
  skipped: { id: string; file: string; reason: string }[];
  /** The CSV written, when asked for. */
  out: string | null;
  /** The saved model that predicted. */
  model: ModelChoice;
}

/** One image to predict: its id (see Prediction) and absolute path. */
export interface PredictInput {
  id: string;
  path: string;
}

/**
 * The images of the inputs, in order, each once: a file given twice (the same absolute path, given
 * directly or found in a folder) is predicted once, under the id it was first given, and the log
 * says so.
 */
export async function predictInputs(inputs: readonly string[]): Promise<PredictInput[]> {
  const out: PredictInput[] = [];
  const seen = new Map<string, string>();
  for (const input of inputs) {
    const base = resolve(input);
    for (const path of await imagesIn(input)) {
      // join normalises (./a/ → a), and resolve(id) === path, so two ids are equal only for one path.
      const id = path === base ? input : join(input, relative(base, path));
      const first = seen.get(path);
      if (first !== undefined) {
        log.info(`${id} is given twice${first === id ? '' : ` (first as ${first})`}: predicted once`);
        continue;
      }
      seen.set(path, id);
      out.push({ id, path });
    }
  }
  return out;
}

/** Predictions as a CSV: id, then a probability column per class, then `<class> label` columns (0/1). Returns the absolute path. */
export async function writePredictionsCsv(file: string, predictions: readonly Prediction[], names: readonly string[]): Promise<string> {
  const out = resolve(file);
  const rows = predictions.map((p) => ({ id: p.id, ...p.probabilities, ...Object.fromEntries(names.map((n) => [`${n} label`, p.labels[n]])) }));
  await writeFileAtomic(out, toCsv(rows, ['id', ...names, ...names.map((n) => `${n} label`)]));
  return out;
}

/**
 * Probabilities and thresholded labels (thresholds.json, chosen on val) of a run's best model for
 * images: files, or every image under folders. With `out`, also a CSV: id, then a probability
 * column per class, then `<class> label` columns (0/1). An image that cannot be read is left out and
 * listed in `skipped` (the caller reports it: the log does not, so it is named once); when no image
 * at all can be read, it is an error.
 */
export async function predictRun(dir: string, inputs: readonly string[], o: { out?: string | null; engine?: string; epoch?: number } = {}): Promise<PredictResult> {
  if (!inputs.length) throw new MedtrainError('nothing to predict', { code: 'bad-flag', hint: 'give an image or a folder after the flags' });
  const run = await openRun(dir, { epoch: o.epoch ?? 'best', engine: o.engine });
  try {
    const names = run.config.classes;
    const files = await predictInputs(inputs);
    // Record ids are the unique ids, so results map back to their image through them. The source
    // names the image itself: predict reads no table. A file named like CheXpert's (…_lateral.jpg)
    // is a lateral view: the lung-field crop (C1) skips those.
    const records: CaseRecord[] = files.map((f) => ({ id: f.id, path: f.path, patientId: f.id, raw: new Float32Array(0), source: { file: f.path, line: 0 }, ...(/lateral/i.test(basename(f.path)) && { view: 'lateral' as const }) }));
    const labels = new Float32Array(records.length * names.length).fill(MASKED);
    const gen = await ImageDataGenerator.create(records, labels, { batchSize: run.benchmark.batchSize, dim: run.benchmark.dim, preprocessing: run.classifier.preprocessing, transforms: run.benchmark.transforms, crop: run.benchmark.crop, mode: 'eval', logSkipped: false });
    let scores: { ids: string[]; yScore: Float32Array };
    try {
      scores = await predictSource(run.classifier.model, gen);
    } finally {
      await gen.close();
    }
    const byId = new Map(files.map((f) => [f.id, f]));
    const skipped = gen.skipped.map((s) => ({ id: s.value ?? s.file, file: s.file, reason: s.reason }));
    if (scores.ids.length === 0) {
      const one = skipped.length === 1 ? skipped[0]! : null;
      throw new MedtrainError(one ? `the image could not be read: ${one.reason}` : `none of the ${skipped.length} images could be read`, {
        code: 'no-images',
        ...(one && { file: one.file }),
        hint: one ? 'give a JPEG, PNG, WebP, TIFF or BMP image' : `give JPEG, PNG, WebP, TIFF or BMP images (${listForMessage(skipped.map((x) => `${x.id}: ${x.reason}`), 5)})`,
      });
    }
    const th = await readThresholds(run.store, names);
    const C = names.length;
    const predictions: Prediction[] = scores.ids.map((id, i) => ({
      id,
      path: byId.get(id)!.path,
      probabilities: Object.fromEntries(names.map((n, c) => [n, scores.yScore[i * C + c]!])),
      labels: Object.fromEntries(names.map((n, c) => [n, scores.yScore[i * C + c]! >= th[c]! ? 1 : 0])) as Record<string, 0 | 1>,
    }));
    const out = o.out ? await writePredictionsCsv(o.out, predictions, names) : null;
    return { run: run.store.dir, classes: [...names], thresholds: Object.fromEntries(names.map((n, c) => [n, th[c]!])), predictions, skipped, out, model: run.model };
  } finally {
    run.classifier.dispose();
  }
}

