/**
 * `npm run bench -- many-runs [--folds 5] [--trials 12]`: the main command's config
 * (chexpert_CWBCE_E3_B32 on the phantom set: the quick start) cross-validated in K folds, and a TPE
 * sweep over its learning rate, batch size and augmentation with ASHA pruning, both through the
 * `medtrain` commands as a user runs them. Prints one JSON object: the folds' val macro AUROC (mean ±
 * sd, pooled out-of-fold), the sweep's best trial, the epochs trained and saved by pruning, and the
 * wall time of each.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, runMain } from '../src/util/cli.js';
import { medtrainJson } from './_shared.js';

const FLAGS = {
  folds: { type: 'string', value: 'K', help: 'folds of the cross-validation (default 5)' },
  trials: { type: 'string', value: 'N', help: 'trials of the sweep (default 12)' },
} as const;

const BASE = 'chexpert_CWBCE_E3_B32';


runMain(async () => {
  const { flags } = parseCli('bench -- many-runs', FLAGS, process.argv.slice(2));
  const folds = Number(flags.folds ?? 5);
  const trials = Number(flags.trials ?? 12);
  const out = mkdtempSync(join(tmpdir(), 'medtrain-bench-many-'));
  const load = loadavg()[0]!;
  try {
    const cv = medtrainJson(['train', '--', '--benchmark', BASE, '--folds', String(folds), '--out', join(out, 'cv'), '--no-tensorboard']);
    const spec = {
      base: BASE,
      sampler: 'tpe',
      trials,
      seed: 1,
      space: { learningRate: { loguniform: [0.0001, 0.01] }, batchSize: { choice: [16, 32, 64] }, augmentation: { choice: ['none', 'affine', 'affine,color'] } },
      pruner: { asha: { reductionFactor: 3 } },
      train: { 'no-tensorboard': true },
    };
    writeFileSync(join(out, 'sweep.json'), JSON.stringify(spec));
    const sw = medtrainJson(['sweep', '--', join(out, 'sweep.json'), '--out', join(out, 'sweep')]);
    const t = sw.json;
    process.stdout.write(
      `${JSON.stringify({
        harness: 'many-runs',
        crossValidation: {
          command: `medtrain train --benchmark ${BASE} --folds ${folds}`,
          seconds: cv.seconds,
          valMacroAuroc: cv.json.results.map((r: { val: { macro_auroc: number } }) => r.val.macro_auroc),
          mean: cv.json.mean.val_macro_auroc,
          sd: cv.json.sd.val_macro_auroc,
          pooled: cv.json.pooled.macro_auroc,
          testMean: cv.json.mean.test_macro_auroc,
        },
        sweep: {
          spec,
          seconds: sw.seconds,
          states: Object.fromEntries(['complete', 'pruned', 'failed'].map((s) => [s, t.trials.filter((x: { state: string }) => x.state === s).length])),
          best: t.best && { number: t.best.number, params: t.best.params, value: t.best.value },
          epochs: { ...t.epochs, withoutPruning: trials * 3 },
          values: t.trials.map((x: { params: object; state: string; value: number | null; intermediate: unknown[] }) => ({ params: x.params, state: x.state, value: x.value, epochs: x.intermediate.length })),
        },
        machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_average_1m: load },
      })}\n`,
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
