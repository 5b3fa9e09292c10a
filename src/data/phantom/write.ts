/**
 * Writing the phantom set to disk, in CheXpert's exact layout and CSV format:
 *
 *   out/train.csv, out/valid.csv, out/findings.csv, out/phantom.json (marker)
 *   out/CheXpert-v1.0-small/{train,valid}/patientNNNNN/studyN/viewK_{frontal,lateral}.jpg
 *
 * Images are drawn and encoded on worker threads (this module is their entry point). Every file
 * depends only on the seed and its own path, so the same seed gives byte-identical files whatever
 * the split of work.
 *
 * findings.csv says where each image shows each finding it was drawn with (regions.ts records it
 * while drawing), so that heatmaps can be scored. One row per box:
 *
 *   Path,Finding,Part,Severity,x0,y0,x1,y1
 *   CheXpert-v1.0-small/train/patient00004/study2/view1_frontal.jpg,Cardiomegaly,heart,strong,19,35,55,64
 *
 * - Path: as in train.csv / valid.csv; Finding: the CheXpert column name, exactly as in their header.
 * - x0, y0, x1, y1: whole pixels of the written image, origin top left: the box holds columns
 *   x0 … x1 − 1 and rows y0 … y1 − 1 (x1, y1 exclusive; as a region of the plane, [x0, x1) × [y0, y1)
 *   with pixel k spanning [k, k + 1)). A model's input of another size needs the boxes scaled
 *   (scaleBoxes in findings.ts).
 * - A finding has one row per part of its sign, several where it has several parts. Together they
 *   hold every pixel the sign changed, and little more: drawing the image without the finding changes
 *   nothing outside them (test/data/phantom-findings.test.ts checks it pixel by pixel). A sign in the
 *   lungs is boxed where it shows, not behind the heart or under pleural fluid.
 * - Severity: strong (train.csv 1.0) or weak (-1.0, uncertain; valid.csv labels both 1.0). Lung
 *   Opacity's rows carry the severity of the opacity they box; its label is the strongest.
 * - Rows follow the tables' image order (train.csv, then valid.csv), findings in the tables' column
 *   order. A 0.0 or blank label never has rows. A 1.0 or -1.0 label has rows, except: No Finding
 *   (no location), Pneumothorax on a lateral view (drawn on frontal views only), and, rarely, a sign
 *   that shows nowhere (an opacity wholly under fluid); the pointing game leaves those images out.
 *
 * The parts, per finding:
 *   Enlarged Cardiomediastinum  mediastinum (from the midline out to the lungs' edges, apex to diaphragm)
 *   Cardiomegaly       heart (the enlarged heart, and where a normal one would be)
 *   Lung Opacity       the parts of its opacities (Lung Lesion, Edema, Consolidation, Pneumonia,
 *                      Atelectasis), under their names, and opacity (an opacity that names no finding)
 *   Lung Lesion        nodule
 *   Edema              right lung, left lung (the perihilar haze fades out but reaches the whole
 *                      lung: diffuse, so its boxes are the lungs; on a lateral view: lung), kerley
 *                      lines (strong, frontal)
 *   Consolidation      patch;  Pneumonia  patches
 *   Atelectasis        band, wedge (strong: lobar collapse). The volume loss that goes with a strong
 *                      one (the raised hemidiaphragm, the mediastinum pulled toward it) is not boxed.
 *   Pneumothorax       right apex, right wall, left apex, left wall (the lucent rim and the pleural line)
 *   Pleural Effusion   right, left (the patient's sides: on a frontal view the patient's right is the
 *                      image's left); on a lateral view: fluid
 *   Pleural Other      thickening
 *   Fracture           rib (the broken piece, moved, and where it was), callus, air (strong)
 *   Support Devices    ett, ng, line, lead (one box per straight piece of a tube or line), pacer, ecg
 *                      (one box per electrode)
 */
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { toCsv } from '../../util/csv.js';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { exists, writeDirAtomic, writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { createLogger } from '../../util/logger.js';
import { isWorkerOf, moduleWorker } from '../../util/worker.js';
import { CHEXPERT_CLASSES, CHEXPERT_HEADER, type ChexpertLabel } from '../tables/chexpert.js';
import { FINDINGS_FILE, findingsCsv } from './findings.js';
import { PHANTOM_DEFAULTS, phantomDims, planPhantom, type PhantomCase } from './plan.js';
import type { FindingRegion } from './regions.js';
import { drawPhantomImage, imageRng } from './render.js';

const log = createLogger('phantom');

/** Bumped whenever the same parameters would give different files (3: findings.csv). */
export const PHANTOM_VERSION = 3;
export const PHANTOM_MARKER = 'phantom.json';
const MARKER_FORMAT = 'medtrain-phantom';

export interface MakePhantomOptions {
  /** Output folder (created if missing). */
  out: string;
  patients?: number;
  /** Image width in pixels (height follows CheXpert-small's 320:390 aspect). Default 256. */
  size?: number;
  seed?: number | string;
  /** Write into a non-empty folder that is not a phantom set. */
  force?: boolean;
  /** Keep an existing complete phantom set made with the same parameters and version. */
  reuse?: boolean;
  /** JPEG quality (default 90). */
  quality?: number;
  /** Worker threads drawing images (default: one per core, at most 4; 0 draws in this thread). */
  workers?: number;
}

export interface PhantomSplitSummary {
  patients: number;
  studies: number;
  images: number;
  frontal: number;
  lateral: number;
  /** Per observation: how many images carry 1.0, -1.0, 0.0 and blank. */
  labels: Record<ChexpertLabel, { positive: number; uncertain: number; negative: number; blank: number }>;
}

export interface PhantomSummary {
  out: string;
  version: number;
  seed: string;
  patients: number;
  size: number;
  width: number;
  height: number;
  quality: number;
  train: PhantomSplitSummary;
  valid: PhantomSplitSummary;
  /** Image files written (or present, when reused). */
  images: number;
  bytes: number;
  seconds: number;
  /** True when an identical existing set was kept. */
  reused: boolean;
}

/** The CSV files of a set whose digests its marker keeps. */
const CSV_FILES = ['train.csv', 'valid.csv', FINDINGS_FILE] as const;

/** The marker file: the parameters, the version, and digests of the CSVs. */
export interface PhantomMarker {
  format: typeof MARKER_FORMAT;
  version: number;
  complete: boolean;
  params: { patients: number; size: number; seed: string; quality: number };
  csv: Record<(typeof CSV_FILES)[number], string>;
  summary: Omit<PhantomSummary, 'out' | 'seconds' | 'reused'>;
}

/** Read a folder's phantom marker, or null when the folder is not a phantom set. */
export async function readPhantomMarker(dir: string): Promise<PhantomMarker | null> {
  try {
    const m = JSON.parse(await fsp.readFile(join(dir, PHANTOM_MARKER), 'utf8')) as PhantomMarker;
    return m && m.format === MARKER_FORMAT ? m : null;
  } catch {
    return null;
  }
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** train.csv or valid.csv: CheXpert's header, then one row per image. */
function csvText(cases: PhantomCase[]): string {
  const rows = cases.map((c) => ({
    Path: c.path,
    Sex: c.study.sex,
    Age: c.study.age,
    'Frontal/Lateral': c.view.view === 'frontal' ? 'Frontal' : 'Lateral',
    'AP/PA': c.view.projection,
    ...Object.fromEntries(CHEXPERT_CLASSES.map((name, i) => [name, c.cells[i]])),
  }));
  return toCsv(rows, CHEXPERT_HEADER);
}

function summarise(cases: PhantomCase[]): PhantomSplitSummary {
  const labels = Object.fromEntries(CHEXPERT_CLASSES.map((c) => [c, { positive: 0, uncertain: 0, negative: 0, blank: 0 }])) as PhantomSplitSummary['labels'];
  for (const c of cases) {
    CHEXPERT_CLASSES.forEach((name, i) => {
      const cell = c.cells[i];
      const s = labels[name];
      if (cell === '1.0') s.positive++;
      else if (cell === '-1.0') s.uncertain++;
      else if (cell === '0.0') s.negative++;
      else s.blank++;
    });
  }
  return {
    patients: new Set(cases.map((c) => c.study.patient)).size,
    studies: new Set(cases.map((c) => `${c.study.patient}/${c.study.study}`)).size,
    images: cases.length,
    frontal: cases.filter((c) => c.view.view === 'frontal').length,
    lateral: cases.filter((c) => c.view.view === 'lateral').length,
    labels,
  };
}

/** Encode greyscale pixels as a one-channel JPEG (mozjpeg through sharp: deterministic). */
export async function encodeGreyJpeg(pixels: Uint8Array, width: number, height: number, quality = 90): Promise<Buffer> {
  return sharp(pixels, { raw: { width, height, channels: 1 } }).toColourspace('b-w').jpeg({ quality }).toBuffer();
}

/** A share of the images to draw and write; workers rebuild the (cheap, deterministic) plan. */
interface ImageJob {
  patients: number;
  seed: string;
  size: number;
  quality: number;
  /** Folder standing for CheXpert-v1.0-small/. */
  dir: string;
  /** Indices into the plan's train-then-valid image list. */
  indices: number[];
}

const WORKER_KIND = 'medtrain-phantom-images';

/** What drawing an image gives back: its index, its file's size, and where its signs are. */
type ImageDone = (index: number, bytes: number, regions: FindingRegion[]) => void;

/** Draw, encode and write the job's images in this thread; calls back for each image. */
async function drawImages(job: ImageJob, done: ImageDone): Promise<void> {
  const plan = planPhantom({ patients: job.patients, seed: job.seed });
  const all = [...plan.train, ...plan.valid];
  const { width, height } = phantomDims(job.size);
  // Draw the next image while sharp encodes earlier ones on its own threads.
  const pending: Promise<void>[] = [];
  for (const i of job.indices) {
    const c = all[i]!;
    const { pixels, regions } = drawPhantomImage(c.study, c.view, width, height, imageRng(job.seed, c.path));
    const file = join(job.dir, c.path.slice('CheXpert-v1.0-small/'.length));
    pending.push(
      encodeGreyJpeg(pixels, width, height, job.quality).then(async (jpg) => {
        await fsp.writeFile(file, jpg);
        done(i, jpg.length, regions);
      }),
    );
    if (pending.length >= 4) await pending.shift();
  }
  await Promise.all(pending);
}

/**
 * Write every image of the job, split over worker threads (this module is their entry point).
 * Whatever a worker could not do (it failed to start, e.g. without a TypeScript loader) is drawn
 * here. Returns the bytes written and each image's regions (by index). Files depend only on their
 * own image, so the split never changes them.
 */
async function writeImages(job: ImageJob, workers?: number): Promise<{ bytes: number; regions: Map<number, FindingRegion[]> }> {
  const n = Math.max(0, Math.min(workers ?? Math.min(4, availableParallelism()), Math.floor(job.indices.length / 100)));
  let bytes = 0;
  const regions = new Map<number, FindingRegion[]>();
  const record: ImageDone = (i, b, r) => {
    regions.set(i, r);
    bytes += b;
  };
  if (n >= 2) {
    const shares = Array.from({ length: n }, (_, k) => job.indices.filter((_, j) => j % n === k));
    await Promise.all(
      shares.map(
        (indices) =>
          new Promise<void>((resolveShare) => {
            const w = moduleWorker(import.meta.url, { workerData: { kind: WORKER_KIND, job: { ...job, indices } } });
            w.on('message', (m: Parameters<ImageDone>) => record(...m));
            w.on('error', (e) => {
              log.debug(`image worker failed (${String(e).split('\n')[0]}); drawing its share here`);
              resolveShare();
            });
            w.on('exit', () => resolveShare());
          }),
      ),
    );
  }
  const rest = job.indices.filter((i) => !regions.has(i));
  if (rest.length) await drawImages({ ...job, indices: rest }, record);
  return { bytes, regions };
}

if (isWorkerOf(WORKER_KIND)) {
  const job = (workerData as { job: ImageJob }).job;
  void drawImages(job, (i, b, r) => parentPort!.postMessage([i, b, r]));
}

/**
 * Write the phantom set into `out`: images under CheXpert-v1.0-small/, train.csv, valid.csv,
 * findings.csv (where each image shows each finding: see the top of this file) and the marker phantom.json (written last, so a set without a complete marker is never trusted).
 * A non-empty folder that is not a phantom set is refused unless `force`; with `force` only the
 * set's own entries are replaced. Every file is written atomically (temp + rename); the image tree
 * is filled in a temporary folder and renamed into place.
 */
export async function makePhantom(opts: MakePhantomOptions): Promise<PhantomSummary> {
  const t0 = performance.now();
  const out = resolve(opts.out);
  const patients = opts.patients ?? PHANTOM_DEFAULTS.patients;
  const size = opts.size ?? PHANTOM_DEFAULTS.size;
  const seed = String(opts.seed ?? PHANTOM_DEFAULTS.seed);
  const quality = opts.quality ?? 90;
  if (!Number.isInteger(size) || size < 16 || size > 2048) {
    throw new MedtrainError('the phantom image size must be a whole number of pixels from 16 to 2048', { code: 'bad-option', column: 'size', value: opts.size, hint: 'e.g. --size 256' });
  }
  if (!Number.isInteger(patients) || patients < 1 || patients > 100_000) {
    throw new MedtrainError('the phantom set needs a whole number of patients from 1 to 100000', { code: 'bad-option', column: 'patients', value: opts.patients, hint: 'e.g. --patients 150' });
  }
  const { width, height } = phantomDims(size);
  const params = { patients, size, seed, quality };

  const marker = await checkTarget(out, Boolean(opts.force));
  if (opts.reuse && marker?.complete && marker.version === PHANTOM_VERSION && JSON.stringify(marker.params) === JSON.stringify(params) && (await csvMatches(out, marker))) {
    log.debug(`reusing the phantom set in ${out}`);
    return { ...marker.summary, out, seconds: (performance.now() - t0) / 1000, reused: true };
  }

  const plan = planPhantom({ patients, seed });
  const all = [...plan.train, ...plan.valid];
  const trainCsv = csvText(plan.train);
  const validCsv = csvText(plan.valid);
  const summaryBase = { version: PHANTOM_VERSION, seed, patients, size, width, height, quality, train: summarise(plan.train), valid: summarise(plan.valid), images: all.length, bytes: 0 };
  // An old marker must not vouch for a half-replaced set: mark it incomplete first.
  if (marker) await writeJsonAtomic(join(out, PHANTOM_MARKER), { ...marker, complete: false });

  let bytes = 0;
  let regions = new Map<number, FindingRegion[]>();
  await writeDirAtomic(join(out, 'CheXpert-v1.0-small'), async (tmp) => {
    const dirs = new Set(all.map((c) => join(tmp, c.path.slice('CheXpert-v1.0-small/'.length), '..')));
    for (const d of dirs) await fsp.mkdir(d, { recursive: true });
    ({ bytes, regions } = await writeImages({ patients, seed, size, quality, dir: tmp, indices: all.map((_, i) => i) }, opts.workers));
  });
  const findings = findingsCsv(all.map((c, i) => ({ path: c.path, regions: regions.get(i)! })));
  const texts = { 'train.csv': trainCsv, 'valid.csv': validCsv, [FINDINGS_FILE]: findings } as Record<(typeof CSV_FILES)[number], string>;
  for (const name of CSV_FILES) {
    await writeFileAtomic(join(out, name), texts[name]);
    bytes += Buffer.byteLength(texts[name]);
  }
  const summary = { ...summaryBase, bytes };
  const csv = Object.fromEntries(CSV_FILES.map((name) => [name, sha256(texts[name])])) as PhantomMarker['csv'];
  const newMarker: PhantomMarker = { format: MARKER_FORMAT, version: PHANTOM_VERSION, complete: true, params, csv, summary };
  await writeJsonAtomic(join(out, PHANTOM_MARKER), newMarker);
  const seconds = (performance.now() - t0) / 1000;
  log.info(`phantom set: ${all.length} images (${summary.train.images} train, ${summary.valid.images} valid) in ${out} (${seconds.toFixed(1)} s)`);
  return { ...summary, out, seconds, reused: false };
}

/** Refuse a folder we must not write into; return its phantom marker when it has one. */
async function checkTarget(out: string, force: boolean): Promise<PhantomMarker | null> {
  if (!(await exists(out))) return null;
  const st = await fsp.stat(out);
  if (!st.isDirectory()) throw new MedtrainError('the phantom output is a file, not a folder', { code: 'not-a-folder', file: out, hint: 'give --out a folder (new or empty)' });
  const marker = await readPhantomMarker(out);
  if (marker || force) return marker;
  const entries = (await fsp.readdir(out)).sort();
  if (entries.length === 0) return null;
  throw new MedtrainError(`refusing to write the phantom set into ${out}: the folder is not empty and is not a phantom set (no ${PHANTOM_MARKER})`, {
    code: 'not-phantom-folder',
    file: out,
    value: listForMessage(entries, 5),
    hint: 'choose a new or empty folder, or pass --force to write into it anyway (its train.csv, valid.csv, findings.csv, CheXpert-v1.0-small/ and phantom.json are replaced; nothing else is touched)',
  });
}

async function csvMatches(out: string, marker: PhantomMarker): Promise<boolean> {
  try {
    for (const name of CSV_FILES) {
      if (!marker.csv[name] || sha256(await fsp.readFile(join(out, name))) !== marker.csv[name]) return false;
    }
    return await exists(join(out, 'CheXpert-v1.0-small'));
  } catch {
    return false;
  }
}
