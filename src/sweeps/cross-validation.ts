/**
 * Cross-validation (`medtrain train --benchmark X --folds K [--fold k]`): K patient-grouped folds of
 * the training table, stratified over every class at once (iterative stratification, data/split.ts),
 * each trained as a run of the benchmark with `Fold<k>of<K>` (its val split is fold k), in one folder:
 *
 *   CV/cv.json                 the benchmark, each fold's figures, their mean ± sd, the pooled evaluation
 *   CV/cv-folds.csv            one row per fold, then mean and sd
 *   CV/fold-k/                 fold k's run folder (split-val.csv is fold k)
 *   CV/oof-predictions.csv, CV/oof-labels.csv   every fold's val predictions together: the pooled
 *                              out-of-fold set, scored as one (`medtrain evaluate` reads them too)
 *   CV/ensemble/               the folds' mean ensemble (src/ensembles/): val is the pooled out-of-fold
 *                              predictions, test the mean of the folds' on the shared test set;
 *                              `medtrain evaluate --run` and `medtrain predict --run` take it as a run
 *
 * The folds run one after another in this process. Run again, it skips finished folds and resumes a
 * stopped one; `--fold k` trains only fold k (folds can run on several machines), and the summary is
 * written once every fold has finished. The test split (the dataset's test table) is the same for
 * every fold.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { openDataset } from '../data/dataset.js';
import { evaluatePredictionFiles } from '../metrics/evaluate.js';
import type { Benchmark } from '../training/benchmark/benchmark.js';
import { DEFAULT_RUNS_DIR, Experiment, type ExperimentOptions } from '../training/experiment.js';
import { RUN_FILES, type RunSummary } from '../training/run/store.js';
import { toCsv } from '../util/csv.js';
import { MedtrainError } from '../util/errors.js';
import { ensureWritableDir, exists, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { claimFolder } from './spec.js';
import { ensembleRuns } from '../ensembles/ensemble.js';

const log = createLogger('cv');

export const CV_FORMAT = 'medtrain-cv/1';

export interface CrossValidationOptions extends Omit<ExperimentOptions, 'out'> {
  /** K, at least 2. */
  folds: number;
  /** Train only this fold (1-based). */
  fold?: number;
  /** The CV folder: new, empty, or this cross-validation's (to continue it). Default models/<name>-cv<K>. */
  out?: string | null;
}

export interface FoldResult {
  fold: number;
  run: string;
  val: Record<string, number | null>;
  test: Record<string, number | null> | null;
  bestEpoch: number | null;
  seconds: number;
}

export interface CrossValidation {
  format: typeof CV_FORMAT;
  benchmark: string;
  folds: number;
  dir: string;
  /** Every fold's result, by fold; null for a fold not finished. */
  results: (FoldResult | null)[];
  /** Mean and sample standard deviation over the folds of each figure (once every fold has finished). */
  mean: Record<string, number | null> | null;
  sd: Record<string, number | null> | null;
  /** The pooled out-of-fold evaluation: every fold's val predictions scored as one set. */
  pooled: { macro_auroc: number | null; macro_ap: number | null; macro_auprc: number | null; micro_auroc: number | null; rows: number; auroc: Record<string, number | null> } | null;
  /** The folds' mean ensemble (CV/ensemble): its folder and its val (out-of-fold) and test figures. */
  ensemble: { dir: string; val: Record<string, number | null>; test: Record<string, number | null> | null } | null;
}

const FIGURES = ['macro_auroc', 'macro_ap', 'macro_auprc', 'micro_auroc', 'loss'] as const;

function meanSd(results: FoldResult[]): { mean: Record<string, number | null>; sd: Record<string, number | null> } {
  const mean: Record<string, number | null> = {};
  const sd: Record<string, number | null> = {};
  for (const split of ['val', 'test'] as const) {
    for (const f of FIGURES) {
      const xs = results.map((r) => r[split]?.[f]).filter((v): v is number => typeof v === 'number');
      const key = `${split}_${f}`;
      if (xs.length !== results.length) {
        mean[key] = sd[key] = null;
        continue;
      }
      const m = xs.reduce((a, b) => a + b, 0) / xs.length;
      mean[key] = m;
      sd[key] = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : null;
    }
  }
  return { mean, sd };
}

/** Every fold's file of the same header, as one file (the header once). */
async function concatenate(files: string[], out: string): Promise<void> {
  let header: string | null = null;
  const body: string[] = [];
  for (const f of files) {
    const [head, ...rows] = (await readFile(f, 'utf8')).replace(/\n$/, '').split('\n');
    if (header !== null && head !== header) throw new MedtrainError("the folds' prediction files have different columns", { code: 'bad-run', file: f, hint: 'the folds must be runs of one benchmark' });
    header = head!;
    body.push(...rows);
  }
  await writeFileAtomic(out, `${header}\n${body.join('\n')}\n`);
}

function foldResult(fold: number, run: string, s: RunSummary): FoldResult {
  return { fold, run, val: s.val, test: s.test ?? null, bestEpoch: s.bestEpoch, seconds: s.seconds };
}

/**
 * The folds can be made from the data (as many patients as folds, at least): checked before anything
 * is written. (A phantom set not made yet is made by the first fold, with enough patients.)
 */
async function checkFolds(fold1: Benchmark, experiment: ExperimentOptions, out: string): Promise<void> {
  const plan = await Experiment.create(fold1, { ...experiment, out }); // resolves the data folder; writes nothing
  if (!(await exists(plan.config.data.dir))) return;
  await openDataset(plan.config.data.dir, { ...plan.benchmark.dataOptions(), table: plan.config.data.table, onBadRow: plan.config.data.onBadRow });
}

/** Cross-validate a benchmark (see the top of this file). */
export async function crossValidate(benchmark: Benchmark, o: CrossValidationOptions): Promise<CrossValidation> {
  const K = o.folds;
  if (!Number.isSafeInteger(K) || K < 2 || K > 100) throw new MedtrainError('cross-validation needs from 2 to 100 folds', { code: 'bad-flag', column: '--folds', value: K });
  if (o.fold !== undefined && (!Number.isSafeInteger(o.fold) || o.fold < 1 || o.fold > K)) throw new MedtrainError(`--fold is one of the ${K} folds`, { code: 'bad-flag', column: '--fold', value: o.fold, hint: `give a fold from 1 to ${K}` });
  if (benchmark.fold) throw new MedtrainError('the benchmark names a fold already: cross-validation makes the folds', { code: 'bad-flag', column: '--benchmark', value: benchmark.name, hint: 'leave Fold<k>of<K> out of the name' });
  const dir = resolve(o.out ?? join(DEFAULT_RUNS_DIR, `${benchmark.name}-cv${K}`));
  const stateFile = join(dir, 'cv.json');
  await claimFolder(dir, 'cv.json', 'cross-validation', async (saved) => {
    const s = saved as Partial<CrossValidation>;
    if (s.benchmark !== benchmark.name || s.folds !== K) throw new MedtrainError(`the folder holds the cross-validation of ${s.benchmark} in ${s.folds} folds`, { code: 'cv-mismatch', file: stateFile, hint: 'give this one a new folder (--out), or the same benchmark and --folds to continue it' });
  });
  const runOf = (k: number) => join(dir, `fold-${k}`);
  const { folds: _k, fold: only, out: _o, ...experiment } = o;
  if (!(await exists(stateFile))) await checkFolds(benchmark.withOverrides({ fold: { index: 1, of: K } }), experiment, runOf(1));
  await ensureWritableDir(dir, 'cross-validation folder');
  const results: (FoldResult | null)[] = [];
  for (let k = 1; k <= K; k++) {
    const summary = join(runOf(k), RUN_FILES.summary);
    results.push((await exists(summary)) ? foldResult(k, runOf(k), JSON.parse(await readFile(summary, 'utf8')) as RunSummary) : null);
  }
  const state = (): CrossValidation => ({ format: CV_FORMAT, benchmark: benchmark.name, folds: K, dir, results, mean: null, sd: null, pooled: null, ensemble: null });
  await writeJsonAtomic(stateFile, state());

  for (let k = 1; k <= K; k++) {
    if (results[k - 1] || (only !== undefined && k !== only)) continue;
    const run = runOf(k);
    log.info(`fold ${k} of ${K}: ${(await exists(join(run, RUN_FILES.config))) ? 'resuming' : 'training'} ${run}`);
    const exp = (await exists(join(run, RUN_FILES.config)))
      ? await Experiment.resume(run, { ...(experiment.experimentLog !== undefined && { experimentLog: experiment.experimentLog }), ...(experiment.workers !== undefined && { workers: experiment.workers }), ...(experiment.signal && { signal: experiment.signal }), ...(experiment.progress !== undefined && { progress: experiment.progress }) })
      : await Experiment.create(benchmark.withOverrides({ fold: { index: k, of: K } }), { ...experiment, out: run });
    const { summary } = await exp.run();
    results[k - 1] = foldResult(k, run, summary);
    await writeJsonAtomic(stateFile, state());
  }
  const done = results.filter((r): r is FoldResult => r !== null);
  if (done.length < K) {
    log.info(`${done.length} of ${K} folds finished; the summary comes when all have (folds left: ${results.flatMap((r, i) => (r ? [] : [i + 1])).join(', ')})`);
    return state();
  }

  await concatenate(done.map((r) => join(r.run, 'predictions-val.csv')), join(dir, 'oof-predictions.csv'));
  await concatenate(done.map((r) => join(r.run, 'labels-val.csv')), join(dir, 'oof-labels.csv'));
  const oof = evaluatePredictionFiles({ predictions: join(dir, 'oof-predictions.csv'), labels: join(dir, 'oof-labels.csv') });
  const pooled = { macro_auroc: oof.macro.auroc, macro_ap: oof.macro.ap, macro_auprc: oof.macro.auprc, micro_auroc: oof.micro.auroc, rows: oof.rows, auroc: Object.fromEntries(Object.entries(oof.classes).map(([n, c]) => [n, c.auroc])) };
  const { mean, sd } = meanSd(done);
  const ens = await ensembleRuns({ runs: done.map((r) => r.run), method: 'mean', outOfFold: true, out: join(dir, 'ensemble'), experimentLog: false });
  const cv: CrossValidation = { ...state(), mean, sd, pooled, ensemble: { dir: ens.dir, val: ens.val, test: ens.test } };
  const rows = [
    ...done.map((r) => ({ fold: r.fold, ...Object.fromEntries(FIGURES.flatMap((f) => [[`val_${f}`, r.val[f] ?? ''], [`test_${f}`, r.test?.[f] ?? '']])), bestEpoch: r.bestEpoch ?? '', run: r.run })),
    ...(['mean', 'sd'] as const).map((what) => ({ fold: what, ...Object.fromEntries(FIGURES.flatMap((f) => [`val_${f}`, `test_${f}`].map((k) => [k, cv[what]![k] ?? '']))), bestEpoch: '', run: '' })),
  ];
  await writeFileAtomic(join(dir, 'cv-folds.csv'), toCsv(rows, ['fold', ...FIGURES.flatMap((f) => [`val_${f}`, `test_${f}`]), 'bestEpoch', 'run']));
  await writeJsonAtomic(stateFile, cv);
  const m = mean.val_macro_auroc;
  const t = ens.test?.macro_auroc;
  log.info(`${K}-fold cross-validation of ${benchmark.name}: val macro AUROC ${m === null ? 'undefined' : `${m.toFixed(4)} ± ${sd.val_macro_auroc?.toFixed(4) ?? '-'}`}, pooled out-of-fold ${pooled.macro_auroc?.toFixed(4) ?? 'undefined'}; the folds' ensemble on test ${t === null || t === undefined ? 'undefined' : t.toFixed(4)}; in ${dir}`);
  return cv;
}
