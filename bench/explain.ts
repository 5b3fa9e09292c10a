/**
 * `npm run bench -- explain [--run DIR] [--methods gradcam,gradcam++,crm] [--layer NAME] [--json]`: the
 * pointing game on the phantom set, where the set records where it drew each sign (findings.csv). A
 * run's model (default: the main command's config trained for 10 epochs, chexpert_CWBCE_E10_B32) is
 * explained on every image of its test split for every class present in it; a hit is a map whose peak
 * lies in one of the finding's boxes (tolerance 0), or within Zhang et al.'s 15 px at 224 px scaled to
 * the image (`…Tolerant`). Prints one JSON object: per method, per class, hits / trials.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFindingLocations } from '../src/data/phantom/findings.js';
import { classMaps, HEATMAP_METHODS, type HeatmapMethod } from '../src/explain/maps.js';
import { pointingAccuracy, pointingHit, type PointingTrial } from '../src/explain/pointing.js';
import { splitAt } from '../src/explain/split.js';
import { getModelSpec } from '../src/models/registry.js';
import { evalGenerator } from '../src/training/run/data.js';
import { openRun, openRunData } from '../src/training/run/eval.js';
import { parseCli, runMain } from '../src/util/cli.js';
import sharp from 'sharp';

const FLAGS = {
  run: { type: 'string', value: 'DIR', help: 'a finished run on a phantom set (default: train chexpert_CWBCE_E10_B32 into a temporary folder)' },
  methods: { type: 'string', value: 'M,…', help: 'heatmap methods (default gradcam,gradcam++,crm)' },
  layer: { type: 'string', value: 'NAME', help: "the layer explained (default the registry's last block)" },
  json: { type: 'boolean', help: 'JSON (always)' },
} as const;

const FLOOR = ['Cardiomegaly', 'Pleural Effusion', 'Pneumothorax', 'Lung Lesion', 'Support Devices'];

runMain(async () => {
  const { flags } = parseCli('bench -- explain', FLAGS, process.argv.slice(2));
  const methods = (flags.methods?.split(',') ?? HEATMAP_METHODS) as HeatmapMethod[];
  const load = loadavg()[0]!;
  let tmp: string | null = null;
  let dir = flags.run;
  let trainSeconds: number | null = null;
  if (!dir) {
    tmp = mkdtempSync(join(tmpdir(), 'medtrain-bench-explain-'));
    dir = join(tmp, 'run');
    const t0 = performance.now();
    const r = spawnSync('npm', ['run', '-s', 'train', '--', '--benchmark', 'chexpert_CWBCE_E10_B32', '--out', dir, '--no-tensorboard', '--json'], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'warn' } });
    if (r.status !== 0) throw new Error(`training failed:\n${r.stderr.slice(-3000)}`);
    trainSeconds = (performance.now() - t0) / 1000;
  }
  try {
    const run = await openRun(dir);
    if (run.benchmark.crop) throw new Error('the pointing game needs a run without the lung-field crop');
    const data = await openRunData(run);
    const part = data.test ?? data.val;
    const located = await readFindingLocations(run.config.data.dir);
    const names = data.classes.names;
    const C = names.length;
    const layer = flags.layer ?? getModelSpec(run.classifier.config.model).camLayer;
    const split = splitAt(run.classifier.logitsModel, layer);
    const first = part.records[0]!;
    const meta = await sharp(first.path).metadata();
    const image = { width: meta.width!, height: meta.height! };
    const tolerance = (15 * image.width) / 224;
    const trials: Record<string, { strict: PointingTrial[]; tolerant: PointingTrial[] }> = Object.fromEntries(methods.map((m) => [m, { strict: [], tolerant: [] }]));
    const row = new Map(part.records.map((r, i) => [r.id, i]));
    const gen = await evalGenerator(part, run.benchmark, { preprocessing: run.classifier.preprocessing, onBadImage: 'fail' }, 32);
    const t0 = performance.now();
    try {
      for await (const b of gen.batches(0)) {
        const x = tf.tensor4d(b.x, [b.size, b.dim, b.dim, 3]);
        for (let c = 0; c < C; c++) {
          const present = b.ids.map((id) => part.labels[row.get(id)! * C + c] === 1);
          if (!present.some(Boolean)) continue;
          for (const method of methods) {
            const m = await classMaps(split, x, c, method);
            b.ids.forEach((id, i) => {
              if (!present[i]) return;
              const boxes = located.get(id)?.get(names[c] as never) ?? [];
              const map = m.maps.subarray(i * m.h * m.w, (i + 1) * m.h * m.w);
              for (const [kind, tol] of [['strict', 0], ['tolerant', tolerance]] as const) {
                trials[method]![kind].push({ finding: names[c]!, hit: boxes.length ? pointingHit(map, m.h, m.w, image, boxes, { tolerance: tol }).hit : null });
              }
            });
          }
        }
        x.dispose();
      }
    } finally {
      await gen.close();
    }
    const seconds = (performance.now() - t0) / 1000;
    const result = Object.fromEntries(
      methods.map((m) => [m, { pointing: pointingAccuracy(trials[m]!.strict, names), pointingTolerant: pointingAccuracy(trials[m]!.tolerant, names) }]),
    );
    process.stdout.write(
      `${JSON.stringify({
        harness: 'explain',
        run: run.store.dir,
        benchmark: run.config.name,
        model: run.model.description,
        split: data.test ? 'test' : 'val',
        layer,
        map: split.shape.slice(0, 2),
        image,
        toleranceTolerant: tolerance,
        floorClasses: FLOOR,
        methods: result,
        seconds,
        trainSeconds,
        machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_average_1m: load },
      })}\n`,
    );
    run.classifier.dispose();
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
});
