/**
 * reevaluateRun: every saved epoch of a run on val and test (loss, macro figures, per-class AUROC,
 * and the run's monitor), written as reevaluation.csv and reevaluation.json; the best epoch by the
 * run's monitor, as best/ and summary.json choose it.
 */
import { join } from 'node:path';
import { ImageDataGenerator } from '../../data/generator.js';
import { evaluateMultiLabel } from '../../metrics/index.js';
import { epochMetricNames, historyEntries } from '../../metrics/epoch.js';
import { improves, monitorMode } from '../callbacks/callback.js';
import { MedtrainError } from '../../util/errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { toCsv } from '../../util/csv.js';
import type { SplitPart } from '../../data/dataset.js';
import { evalGenerator } from './data.js';
import { loadWeightsInto, RUN_FILES, RunStore } from './store.js';
import { evaluateSplit, openRun, openRunData, runLoss, type SplitName } from './eval.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger('evaluate');

export interface EpochRow {
  epoch: number;
  [k: string]: number | null;
}

export interface Reevaluation {
  run: string;
  epochs: EpochRow[];
  /**
   * What "best" goes by: the run's monitor (config.json's training.monitor, val_loss by default), as
   * for best/, summary.json and evaluate; lowest for a loss, highest otherwise.
   */
  monitor: string;
  mode: 'min' | 'max';
  /** The best epoch by the monitor (the first of equals), or null when no epoch has a value for it. */
  bestEpoch: number | null;
  /** The monitor's value at the best epoch. */
  bestValue: number | null;
  /** The best epoch's val macro AUROC (a figure, not what makes it best). */
  bestValMacroAuroc: number | null;
  /** Why there is no best epoch when the monitor is a quantity reevaluate does not compute (e.g. the training loss). */
  note?: string;
  files: { csv: string; json: string };
}

/**
 * Every saved epoch on val and test: loss and macro figures per split, per-class AUROC, and the run's
 * monitor (any epoch metric: val_macro_f1, val_ap/<class>, …) when it is not among them; the best
 * epoch by that monitor. Written as reevaluation.csv and reevaluation.json in the run folder.
 */
export async function reevaluateRun(dir: string, o: { engine?: string } = {}): Promise<Reevaluation> {
  const store = await RunStore.open(dir);
  const epochs = await store.listCheckpoints();
  if (!epochs.length) throw new MedtrainError('the run has no saved epoch', { code: 'no-checkpoint', file: store.paths.checkpoints, hint: 'train it first (or resume it)' });
  const run = await openRun(dir, { epoch: epochs[0], engine: o.engine });
  try {
    const data = await openRunData(run);
    const loss = await runLoss(run, data);
    const names = data.classes.names;
    const C = names.length;
    const monitor = run.config.training.monitor;
    const mode = monitorMode(monitor);
    // The validation metrics an epoch logs (val_macro_f1, val_ap/<class>, …), as the epoch evaluator names them.
    const epochMetrics = new Set(epochMetricNames(names));
    const monitored = monitor.startsWith('val_') && epochMetrics.has(monitor.slice(4)) ? monitor.slice(4) : null;
    const note = monitor === 'val_loss' || monitored ? undefined : notComputed(monitor);
    if (note) log.warn(note);
    const parts: [SplitName, SplitPart][] = [['val', data.val]];
    if (data.test?.records.length) parts.push(['test', data.test]);
    const gens = new Map<SplitName, ImageDataGenerator>();
    const rows: EpochRow[] = [];
    try {
      for (const [s, p] of parts) gens.set(s, await evalGenerator(p, run.benchmark, { preprocessing: run.classifier.preprocessing, onBadImage: run.config.data.onBadImage }));
      for (const [i, epoch] of epochs.entries()) {
        // openRun loaded the first saved epoch.
        if (i > 0) await loadWeightsInto(run.classifier.model, store.checkpointDir(epoch));
        const row: EpochRow = { epoch };
        for (const [s] of parts) {
          const e = await evaluateSplit(run.classifier.model, loss, gens.get(s)!);
          // Thresholds 0.5 and no micro figures, as the epoch evaluator measured during training.
          const r = evaluateMultiLabel(e.yScore, e.yTrue, C, { classNames: names, micro: false });
          row[`${s}_loss`] = e.loss;
          row[`${s}_macro_auroc`] = r.macro.auroc;
          row[`${s}_macro_ap`] = r.macro.ap;
          for (const n of names) row[`${s}_auroc/${n}`] = r.classes[n]!.auroc;
          if (monitored && !(`${s}_${monitored}` in row)) row[`${s}_${monitored}`] = historyEntries(r)[monitored] ?? null;
        }
        rows.push(row);
        log.info(`epoch ${epoch}: ${monitor} ${row[monitor] ?? 'not computed'}, val macro AUROC ${row.val_macro_auroc ?? 'undefined'}${row.test_macro_auroc !== undefined ? `, test ${row.test_macro_auroc ?? 'undefined'}` : ''}`);
      }
    } finally {
      for (const g of gens.values()) await g.close();
    }
    let best: EpochRow | null = null;
    if (!note) for (const r of rows) if (improves(r[monitor], best === null ? null : best[monitor]!, mode)) best = r;
    const files = { csv: join(store.dir, RUN_FILES.reevaluationCsv), json: join(store.dir, RUN_FILES.reevaluationJson) };
    const summary = { monitor, mode, bestEpoch: best?.epoch ?? null, bestValue: best?.[monitor] ?? null, bestValMacroAuroc: best?.val_macro_auroc ?? null, ...(note && { note }) };
    await writeFileAtomic(files.csv, toCsv(rows));
    await writeJsonAtomic(files.json, { epochs: rows, ...summary });
    return { run: store.dir, epochs: rows, ...summary, files };
  } finally {
    run.classifier.dispose();
  }
}

/** Why reevaluate has no best epoch for a monitor it does not compute. */
function notComputed(monitor: string): string {
  const what = monitor === 'loss' ? 'the training loss (measured while training, with augmentation)' : monitor === 'lr' ? 'the learning rate' : `'${monitor}'`;
  return `the run's monitor is ${what}, which reevaluate does not compute (it computes val_loss and the val_ epoch metrics): no best epoch by it here; best/ and summary.json keep the run's own choice, and history.csv has ${monitor} per epoch`;
}
