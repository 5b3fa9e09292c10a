/**
 * A saved ensemble, used as a run: `evaluateEnsemble` scores it on a split again through its members'
 * models (each member evaluated as `evaluateRun` would, nested ensembles likewise) and
 * `predictEnsemble` gives its probabilities and labels for images; both combine the members with the
 * combiner config.json recorded and label at the ensemble's own thresholds.json.
 *
 * On val, a weighted or stacked ensemble evaluated again uses the combiner fitted on all of val (its
 * saved predictions-val.csv are the cross-fitted ones); an ensemble of cross-validation folds scores
 * each fold on its own val set, as when it was made.
 */
import { join, resolve } from 'node:path';
import { evaluateMultiLabel } from '../metrics/report.js';
import { readThresholds, scoreRunSplit, splitFigures, type ModelChoice, type RunEvaluation, type SplitEvaluation, type SplitName } from '../training/run/eval.js';
import { predictRun, writePredictionsCsv, type Prediction, type PredictResult } from '../training/run/predict.js';
import { RUN_FILES, RunStore } from '../training/run/store.js';
import { MedtrainError } from '../util/errors.js';
import { combine, meanBce } from './combine.js';
import type { EnsembleConfig } from './ensemble.js';
import { folderKind } from './members.js';

async function readEnsembleConfig(dir: string): Promise<EnsembleConfig> {
  const { kind, config } = await folderKind(dir);
  if (kind !== 'ensemble') throw new MedtrainError('not an ensemble folder', { code: 'not-an-ensemble', file: join(resolve(dir), RUN_FILES.config), hint: 'use evaluateRun / predictRun for a training run' });
  return config as unknown as EnsembleConfig;
}

function memberDirs(dir: string, c: EnsembleConfig): string[] {
  return c.members.map((m) => resolve(dir, m.dir));
}

function choice(c: EnsembleConfig): ModelChoice {
  return { epoch: 0, by: 'ensemble', monitor: '', value: null, description: `${c.method} ensemble of ${c.members.length} members` };
}

/** A member's (run's or ensemble's) predictions on a split. */
async function memberScores(dir: string, split: SplitName, engine?: string): Promise<{ names: string[]; scores: SplitEvaluation }> {
  if ((await folderKind(dir)).kind === 'ensemble') return ensembleScores(dir, split, engine);
  const s = await scoreRunSplit(dir, { split, engine });
  return { names: s.names, scores: s.scores };
}

async function ensembleScores(dir: string, split: SplitName, engine?: string): Promise<{ names: string[]; scores: SplitEvaluation }> {
  const c = await readEnsembleConfig(dir);
  const parts: { names: string[]; scores: SplitEvaluation }[] = [];
  for (const m of memberDirs(dir, c)) parts.push(await memberScores(m, split, engine));
  const names = c.classes;
  const C = names.length;
  for (const [i, p] of parts.entries()) {
    if (p.names.join('\u0000') !== names.join('\u0000')) throw new MedtrainError(`member ${c.members[i]!.dir} now has other classes than the ensemble`, { code: 'members-differ', file: join(resolve(dir), RUN_FILES.config), hint: 'make the ensemble again' });
  }
  if (split === 'val' && c.val === 'out-of-fold') {
    // Each fold on its own val set: the pooled out-of-fold predictions.
    const ids = parts.flatMap((p) => p.scores.ids);
    const cat = (k: 'yScore' | 'yTrue') => {
      const out = new Float32Array(ids.length * C);
      let at = 0;
      for (const p of parts) {
        out.set(p.scores[k], at);
        at += p.scores[k].length;
      }
      return out;
    };
    const loss = parts.reduce((a, p) => a + p.scores.loss * p.scores.rows, 0) / ids.length;
    return { names, scores: { ids, yScore: cat('yScore'), yTrue: cat('yTrue'), rows: ids.length, loss } };
  }
  const first = parts[0]!.scores;
  const ids = first.ids;
  const aligned = parts.map((p, i) => {
    const row = new Map(p.scores.ids.map((id, j) => [id, j]));
    const out = new Float32Array(ids.length * C);
    ids.forEach((id, r) => {
      const j = row.get(id);
      if (j === undefined) throw new MedtrainError(`member ${c.members[i]!.dir} has no prediction for a case of the ${split} split`, { code: 'members-differ', value: id, hint: "the members' data changed since the ensemble was made: make it again" });
      out.set(p.scores.yScore.subarray(j * C, (j + 1) * C), r * C);
    });
    return out;
  });
  const yScore = Float32Array.from(combine(c.combiner, aligned, ids.length, C));
  return { names, scores: { ids, yScore, yTrue: first.yTrue, rows: ids.length, loss: meanBce(yScore, first.yTrue) } };
}

/** Evaluate an ensemble on its val or test split through its members' models, at its thresholds. */
export async function evaluateEnsemble(dir: string, o: { split?: SplitName; engine?: string } = {}): Promise<RunEvaluation> {
  const c = await readEnsembleConfig(dir);
  const split = o.split ?? 'test';
  const { names, scores } = await ensembleScores(dir, split, o.engine);
  const th = await readThresholds(await RunStore.open(dir), names);
  const report = evaluateMultiLabel(scores.yScore, scores.yTrue, names.length, { classNames: names, thresholds: th });
  return { run: resolve(dir), split, epoch: 'best', model: choice(c), figures: splitFigures(scores, report), report };
}

/** An ensemble's probabilities (its members' combined) and labels (its thresholds) for images. */
export async function predictEnsemble(dir: string, inputs: readonly string[], o: { out?: string | null; engine?: string } = {}): Promise<PredictResult> {
  const c = await readEnsembleConfig(dir);
  const names = c.classes;
  const C = names.length;
  const results: PredictResult[] = [];
  for (const m of memberDirs(dir, c)) results.push((await folderKind(m)).kind === 'ensemble' ? await predictEnsemble(m, inputs, { engine: o.engine }) : await predictRun(m, inputs, { engine: o.engine }));
  // Every member reads the same images; an image one member could not read is left out of all.
  const byId = results.map((r) => new Map(r.predictions.map((p) => [p.id, p])));
  const kept = results[0]!.predictions.filter((p) => byId.every((m) => m.has(p.id)));
  const matrices = byId.map((m) => {
    const out = new Float64Array(kept.length * C);
    kept.forEach((p, i) => names.forEach((n, k) => (out[i * C + k] = m.get(p.id)!.probabilities[n]!)));
    return out;
  });
  const p = combine(c.combiner, matrices, kept.length, C);
  const th = await readThresholds(await RunStore.open(dir), names);
  const predictions: Prediction[] = kept.map((q, i) => ({
    id: q.id,
    path: q.path,
    probabilities: Object.fromEntries(names.map((n, k) => [n, p[i * C + k]!])),
    labels: Object.fromEntries(names.map((n, k) => [n, p[i * C + k]! >= th[k]! ? 1 : 0])) as Record<string, 0 | 1>,
  }));
  const skipped = results.flatMap((r) => r.skipped).filter((s, i, all) => all.findIndex((t) => t.id === s.id) === i);
  const out = o.out ? await writePredictionsCsv(o.out, predictions, names) : null;
  return { run: resolve(dir), classes: [...names], thresholds: Object.fromEntries(names.map((n, k) => [n, th[k]!])), predictions, skipped, out, model: choice(c) };
}

/** Whether a folder is an ensemble's (config.json says so). */
export async function isEnsembleFolder(dir: string): Promise<boolean> {
  return (await folderKind(dir).catch(() => null))?.kind === 'ensemble';
}
