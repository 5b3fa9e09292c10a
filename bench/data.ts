/**
 * `npm run bench -- data`: the data pipeline beside PyTorch's.
 *
 * 1. Images/s for decode 320×390 greyscale JPEG → resize 256 → affine (rotation 15°, translation 5%,
 *    scale 0.95–1.05, fill 128) → centre crop 224 → ImageNet ("torch") normalisation, in batches:
 *    medtrain's ImageDataGenerator with its worker pool against torchvision's DataLoader
 *    (num_workers = the same count, PIL), on the same generated files, after one warm-up batch each.
 *    torchvision runs twice: converting to RGB on load (as most CheXpert pipelines do) and keeping
 *    one channel until the end (its fastest honest form); the ratio is against the faster. Both
 *    sides also report images per CPU-second (all threads and worker processes), which a shared
 *    machine disturbs less than wall time.
 * 2. Seconds (wall and CPU) to read a generated 223,414-row CheXpert-format train.csv
 *    (readChexpert: records with paths, patients, studies, views and label cells), beside Python's
 *    csv module reading the same file into per-row records.
 *
 * Flags: --images N (512) --epochs N (3) --batch N (32) --workers N (2) --rows N (223414) --keep
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { parseArgs } from 'node:util';
import { ImageDataGenerator } from '../src/data/generator.js';
import { jpegDecoder } from '../src/data/image/decode.js';
import { CHEXPERT_CLASSES, readChexpert } from '../src/data/tables/chexpert.js';
import type { CaseRecord } from '../src/core/types.js';
import { Rng } from '../src/util/rng.js';

const { values: flags } = parseArgs({
  options: {
    images: { type: 'string', default: '512' },
    epochs: { type: 'string', default: '3' },
    batch: { type: 'string', default: '32' },
    workers: { type: 'string', default: '2' },
    rows: { type: 'string', default: '223414' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(flags.images);
const EPOCHS = Number(flags.epochs);
const BATCH = Number(flags.batch);
const WORKERS = Number(flags.workers);
const ROWS = Number(flags.rows);
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'medtrain-bench-data-'));
const W = 320;
const H = 390;

/** A radiograph-like grey image: dark background, bright body, darker lungs, spine, noise. */
function radiograph(rng: Rng): Buffer {
  const px = Buffer.alloc(W * H);
  const lx = 0.3 + rng.uniform(-0.03, 0.03);
  const rx = 0.7 + rng.uniform(-0.03, 0.03);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const u = x / W, v = y / H;
      let g = 25;
      if (((u - 0.5) / 0.45) ** 2 + ((v - 0.55) / 0.5) ** 2 < 1) g = 165;
      if (((u - lx) / 0.14) ** 2 + ((v - 0.5) / 0.27) ** 2 < 1 || ((u - rx) / 0.14) ** 2 + ((v - 0.5) / 0.27) ** 2 < 1) g = 70 + 30 * Math.sin(v * 40);
      if (Math.abs(u - 0.5) < 0.04 && v > 0.15) g = 200;
      px[y * W + x] = Math.max(0, Math.min(255, g + rng.normal(0, 8)));
    }
  }
  return px;
}

async function makeImages(): Promise<{ records: CaseRecord[]; list: string }> {
  const rng = new Rng('bench-data');
  const records: CaseRecord[] = [];
  const paths: string[] = [];
  mkdirSync(join(dir, 'images'));
  for (let i = 0; i < N; i++) {
    const path = join(dir, 'images', `${i}.jpg`);
    await sharp(radiograph(rng), { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').jpeg({ quality: 85 }).toFile(path);
    paths.push(path);
    records.push({ id: `${i}.jpg`, path, patientId: `p${i}`, view: 'frontal', raw: new Float32Array(5), source: { file: 'bench', line: i + 2 } });
  }
  const list = join(dir, 'files.txt');
  writeFileSync(list, `${paths.join('\n')}\n`);
  return { records, list };
}

async function medtrainImages(records: CaseRecord[]): Promise<Record<string, unknown>> {
  const labels = new Float32Array(records.length * 5);
  const gen = new ImageDataGenerator(records, labels, { batchSize: BATCH, dim: 224, resize: 256, augment: 'affine', preprocessing: 'torch', workers: WORKERS, seed: 1, checkFiles: false });
  // Warm-up: start the workers and take one batch, outside the timing.
  for await (const _ of gen.epoch(-1)) break;
  let images = 0;
  const c0 = process.cpuUsage(); // the whole process: the worker threads too
  const t0 = performance.now();
  for (let e = 0; e < EPOCHS; e++) for await (const b of gen.epoch(e)) images += b.size;
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  await gen.close();
  return { images, seconds, imagesPerSecond: images / seconds, cpuSeconds, imagesPerCpuSecond: images / cpuSeconds, workers: WORKERS, jpegDecoder: jpegDecoder() };
}

function torchImages(list: string, mode: 'rgb' | 'grey'): Record<string, unknown> {
  const r = spawnSync('/usr/bin/python3', [join(here, 'peers', 'data_torch.py'), '--files', list, '--epochs', String(EPOCHS), '--batch', String(BATCH), '--workers', String(WORKERS), '--mode', mode], { encoding: 'utf8' });
  if (r.status !== 0) return { error: (r.stderr || r.error?.message || 'failed').trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

function writeChexpertCsv(path: string): void {
  const rng = new Rng('bench-csv');
  const cells = ['1.0', '0.0', '-1.0', '', '', '', '', ''];
  const lines = [['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA', ...CHEXPERT_CLASSES].join(',')];
  let patient = 1, study = 1;
  for (let i = 0; i < ROWS; i++) {
    if (rng.bernoulli(0.3)) {
      patient += 1;
      study = 1;
    } else if (rng.bernoulli(0.4)) study += 1;
    const lateral = rng.bernoulli(0.15);
    const labels = CHEXPERT_CLASSES.map(() => cells[rng.int(cells.length)]);
    lines.push([`CheXpert-v1.0-small/train/patient${String(patient).padStart(5, '0')}/study${study}/view1_${lateral ? 'lateral' : 'frontal'}.jpg`, rng.bernoulli(0.5) ? 'Male' : 'Female', String(18 + rng.int(70)), lateral ? 'Lateral' : 'Frontal', lateral ? '' : rng.bernoulli(0.7) ? 'AP' : 'PA', ...labels].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const PY_CSV = `
import csv, sys, time, json
t = time.perf_counter()
c = time.process_time()
rows = []
with open(sys.argv[1], newline='') as f:
    r = csv.reader(f)
    header = next(r)
    for cells in r:
        rows.append({'path': cells[0], 'sex': cells[1], 'age': float(cells[2]) if cells[2] else None, 'view': cells[3], 'ap': cells[4],
                     'raw': [float(c) if c else float('nan') for c in cells[5:]]})
print(json.dumps({'rows': len(rows), 'seconds': time.perf_counter() - t, 'cpuSeconds': time.process_time() - c}))
`;

async function csvParse(): Promise<Record<string, unknown>> {
  mkdirSync(join(dir, 'CheXpert-v1.0-small'), { recursive: true });
  writeChexpertCsv(join(dir, 'train.csv'));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const table = await readChexpert(dir, { file: 'train.csv' });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpuSeconds = (c.user + c.system) / 1e6;
  const py = spawnSync('/usr/bin/python3', ['-c', PY_CSV, join(dir, 'train.csv')], { encoding: 'utf8' });
  const peer = py.status === 0 ? (JSON.parse(py.stdout.trim()) as { rows: number; seconds: number; cpuSeconds: number }) : null;
  return {
    rows: table.records.length,
    medtrainSeconds: seconds,
    medtrainCpuSeconds: cpuSeconds,
    pythonCsvSeconds: peer?.seconds ?? null,
    pythonCsvCpuSeconds: peer?.cpuSeconds ?? null,
    ratio: peer ? peer.seconds / seconds : null,
    cpuRatio: peer ? peer.cpuSeconds / cpuSeconds : null,
  };
}

try {
  const loadBefore = loadavg()[0];
  const csv = await csvParse();
  const { records, list } = await makeImages();
  // Alternate the two, twice, and keep each one's best run: the machine is shared, so one-off load hits either side.
  const runs: { medtrain: Record<string, unknown>[]; rgb: Record<string, unknown>[]; grey: Record<string, unknown>[] } = { medtrain: [], rgb: [], grey: [] };
  for (let r = 0; r < 2; r++) {
    runs.medtrain.push(await medtrainImages(records));
    runs.rgb.push(torchImages(list, 'rgb'));
    runs.grey.push(torchImages(list, 'grey'));
  }
  const best = (xs: Record<string, unknown>[]) => xs.reduce((a, b) => (((b.imagesPerSecond as number) ?? 0) > ((a.imagesPerSecond as number) ?? 0) ? b : a));
  const m = best(runs.medtrain), rgb = best(runs.rgb), grey = best(runs.grey);
  const ips = (x: Record<string, unknown>) => (typeof x.imagesPerSecond === 'number' ? x.imagesPerSecond : NaN);
  const ipc = (x: Record<string, unknown>) => (typeof x.imagesPerCpuSecond === 'number' ? x.imagesPerCpuSecond : NaN);
  const peerBest = Math.max(ips(rgb), ips(grey));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'data',
      machine: { cores: availableParallelism(), loadAverage1m: [loadBefore, loadavg()[0]] },
      pipeline: `decode ${W}x${H} grey JPEG -> resize 256 -> affine -> centre crop 224 -> torch normalisation, batch ${BATCH}, ${N} files x ${EPOCHS} epochs`,
      images: {
        medtrain: m,
        torchvision: { rgb, grey },
        ratio: peerBest > 0 ? ips(m) / peerBest : null,
        ratioVsRgb: ips(m) / ips(rgb),
        // Images per CPU-second (all threads and worker processes): the same comparison, less at the mercy of a shared machine.
        cpuRatio: ipc(m) / Math.max(ipc(rgb), ipc(grey)),
        cpuRatioVsRgb: ipc(m) / ipc(rgb),
        runs: { medtrain: runs.medtrain.map(ips), torchRgb: runs.rgb.map(ips), torchGrey: runs.grey.map(ips) },
      },
      csv,
    })}\n`,
  );
} finally {
  if (!flags.keep) rmSync(dir, { recursive: true, force: true });
}
