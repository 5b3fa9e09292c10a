/**
 * A run's data: the dataset folder opened with the benchmark's classes, encoding, blank policy and
 * split (openDataset, the same path inspect-data takes), the split the run keeps in its folder, and
 * the generators over it.
 *
 * The split files split-train.csv, split-val.csv and split-test.csv name the exact cases of each
 * split. A new run writes them before training; a resumed or re-evaluated run reads them back, so it
 * sees the same cases even if the dataset's rows were reordered. The split is a pure function of the
 * table, the val fraction (or the fold) and the seed, so a file missing after a kill is drawn again.
 */
import { join } from 'node:path';
import type { ClassStats } from '../../core/types.js';
import type { PreprocessingMode } from '../../core/preprocessing.js';
import { openDataset, type Dataset, type SplitIndices, type SplitPart, type TableSpec } from '../../data/dataset.js';
import { ImageDataGenerator, type GeneratorOptions } from '../../data/generator.js';
import type { ResolvedClasses } from '../../data/labels/classes.js';
import { classStats, upsamplingFactors } from '../../data/labels/encode.js';
import { readSplitCsv, writeSplitCsv } from '../../data/split.js';
import type { BadInputPolicy, CaseRecord } from '../../core/types.js';
import { MedtrainError } from '../../util/errors.js';
import { exists } from '../../util/fs.js';
import type { Benchmark } from '../benchmark/benchmark.js';
import type { ClassWeights } from '../../losses/class-weights.js';
import { RUN_FILES, type DatasetReport } from './store.js';

export type RunData = Dataset;

/**
 * Read the data for a run in `runDir`: with `write`, the split files that are missing are written
 * (all of them for a new run); every split file present is read back and checked against the draw.
 */
export async function loadRunData(dataDir: string, b: Benchmark, splits: { dir: string; write: boolean }, o: { table?: TableSpec | null; onBadRow?: BadInputPolicy } = {}): Promise<RunData> {
  const paths = { train: join(splits.dir, RUN_FILES.splitTrain), val: join(splits.dir, RUN_FILES.splitVal), test: join(splits.dir, RUN_FILES.splitTest) };
  const split = async (drawn: Required<SplitIndices>, train: readonly CaseRecord[], test: readonly CaseRecord[]): Promise<SplitIndices> => {
    const sides: { side: keyof SplitIndices; file: string; records: readonly CaseRecord[] }[] = [
      { side: 'train', file: paths.train, records: train },
      { side: 'val', file: paths.val, records: train },
      ...(test.length ? [{ side: 'test' as const, file: paths.test, records: test }] : []),
    ];
    const used = { ...drawn };
    for (const { side, file, records } of sides) {
      if (await exists(file)) {
        used[side] = (await readSplitCsv(file, records))[side] ?? []; // the saved split wins: it is what the run trained on
      } else if (splits.write) {
        await writeSplitCsv(file, records, { train: [], val: [], [side]: drawn[side] });
      } else {
        throw new MedtrainError('the run folder has no split file', { code: 'bad-run', file, hint: 'continue the run with --resume, which writes what a stopped run lacks' });
      }
    }
    return used;
  };
  return openDataset(dataDir, { ...b.dataOptions(), table: o.table ?? null, onBadRow: o.onBadRow ?? 'fail', split });
}

export interface GeneratorSettings {
  preprocessing: PreprocessingMode;
  workers?: number;
  cache?: string | null;
  /** A missing or unreadable image: skip it (default; named in the log and the generator's list) or fail. */
  onBadImage?: BadInputPolicy;
}

/** The evaluation generator (no augmentation, upsampling or shuffle; every row once, in order). */
export function evalGenerator(p: SplitPart, b: Benchmark, s: GeneratorSettings, batchSize = b.batchSize): Promise<ImageDataGenerator> {
  return ImageDataGenerator.create(p.records, p.labels, { ...common(b, s), batchSize, mode: 'eval' });
}

/** The training generator: shuffled per epoch from the seed, augmented, upsampled when the benchmark says. */
export function trainGenerator(p: SplitPart, b: Benchmark, s: GeneratorSettings, classNames: readonly string[]): Promise<ImageDataGenerator> {
  const C = classNames.length;
  return ImageDataGenerator.create(p.records, p.labels, {
    ...common(b, s),
    batchSize: b.batchSize,
    mode: 'train',
    augment: b.augmentation,
    upsample: b.upsample ? upsamplingFactors(p.labels, C) : null,
    classNames,
    seed: b.drawSeed,
  });
}

function common(b: Benchmark, s: GeneratorSettings): Omit<GeneratorOptions, 'batchSize'> {
  return {
    dim: b.dim,
    preprocessing: s.preprocessing,
    transforms: b.transforms,
    crop: b.crop,
    ...(s.workers !== undefined && { workers: s.workers }),
    ...(s.cache !== undefined && { cache: s.cache }),
    ...(s.onBadImage !== undefined && { policy: s.onBadImage }),
  };
}

/**
 * Class statistics of what training sees (after encoding and upsampling): positive, negative and
 * masked from the epoch's labels, uncertain and blank from the raw cells of the training split.
 */
export function trainingStats(p: SplitPart, classes: ResolvedClasses, epochLabels: Float32Array): ClassStats[] {
  const raw = classStats(p.records, p.labels, classes);
  const C = classes.names.length;
  return classes.names.map((name, c) => {
    const s = { ...raw[name]!, positive: 0, negative: 0, masked: 0 };
    for (let i = c; i < epochLabels.length; i += C) {
      const y = epochLabels[i]!;
      if (y < 0) s.masked++;
      else if (y >= 0.5) s.positive++;
      else s.negative++;
    }
    return s;
  });
}

/**
 * dataset.json: what the run's data turned out to be: sizes, per-class counts of what training sees,
 * the class weights, and every row and image left out (the generators' lists as far as they have read).
 */
export function datasetReport(data: RunData, trainPerEpoch: number, stats: ClassStats[], w: ClassWeights, generators: readonly ImageDataGenerator[]): DatasetReport {
  const images = generators.flatMap((g) => g.skipped);
  return {
    kind: data.kind,
    root: data.root,
    tables: data.tables,
    sizes: { train: data.train.records.length, val: data.val.records.length, test: data.test?.records.length ?? 0, trainPerEpoch },
    classes: data.classes.names,
    trainStats: Object.fromEntries(data.classes.names.map((n, i) => [n, stats[i]!])),
    classWeights: { positive: w.positive, negative: w.negative, scheme: w.scheme },
    skipped: { rows: data.skipped.length, images: images.length, items: [...data.skipped, ...images] },
  };
}
