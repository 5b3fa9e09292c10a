/**
 * `calibrateRun`: temperature scaling of a finished run (`medtrain evaluate --run DIR --calibrate`).
 * One temperature per class is fitted on the run's val predictions and labels (predictions-val.csv,
 * labels-val.csv, written at the end of training) and applied to val and test; test labels are read
 * only after the fit, to report the figures, never to fit.
 *
 * Files it writes in the run folder, each atomically:
 *   calibration.json                  method, per-class temperature (and why a class kept T = 1),
 *                                     the fit's NLL, the thresholds before and after, per split and
 *                                     class ECE and Brier before and after, the number of bins
 *   predictions-{val,test}-calibrated.csv   as predictions-{val,test}.csv, temperature-scaled
 * Temperature scaling is monotone per class, so the run's thresholds map to calibrated ones
 * (t' = sigmoid(logit(t) / T)) that give every case the label it had; the count of entries whose
 * label changed anyway (float rounding at a tie; expected 0) is recorded per split.
 */
import { join } from 'node:path';
import { calibrationFigures, DEFAULT_BINS, type CalibrationFigures } from '../../metrics/calibration.js';
import { applyTemperature, fitTemperature, temperatureScale, type TemperatureFit } from '../../metrics/temperature.js';
import { readPredictionFiles, type PredictionData } from '../../metrics/prediction-files.js';
import { toCsv } from '../../util/csv.js';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { exists, writeFileAtomic, writeJsonAtomic } from '../../util/fs.js';
import { createLogger } from '../../util/logger.js';
import { readThresholds, type SplitName } from './eval.js';
import { RUN_FILES, RunStore } from './store.js';

const log = createLogger('calibrate');

export const CALIBRATION_FORMAT = 'medtrain-calibration/1';

export interface CalibrateOptions {
  /** Equal-width bins of the ECE (default 15). */
  bins?: number;
}

/** Figures of one class or the macro mean, before and after temperature scaling. */
export interface BeforeAfter {
  before: CalibrationFigures;
  after: CalibrationFigures;
}

export interface SplitCalibration {
  rows: number;
  classes: Record<string, BeforeAfter>;
  /** Means over the classes with defined figures. */
  macro: BeforeAfter;
  /** (case, class) entries whose thresholded label differs after calibration: 0 unless float rounding split a tie. */
  labelChanges: number;
}

/** A class's fit on val, as calibration.json records it (why a class kept T = 1 is in `unfitted`). */
export type ClassFit = Omit<TemperatureFit, 'kept'>;

/** calibration.json. */
export interface RunCalibration {
  format: typeof CALIBRATION_FORMAT;
  method: 'temperature';
  fittedOn: 'val';
  /** Equal-width bins of the ECE: bin k holds k/bins < p <= (k+1)/bins, p = 0 in the first. */
  bins: number;
  classes: string[];
  /** Per class: p' = sigmoid(logit(p) / T), p clamped to [1e-7, 1 - 1e-7]. */
  temperatures: Record<string, number>;
  /** Classes that keep T = 1, with why (no positives or no negatives on val, ...). */
  unfitted: Record<string, string>;
  fit: Record<string, ClassFit>;
  /** The run's operating thresholds (thresholds.json; 0.5 where it has none) and their calibrated images. */
  thresholds: { before: Record<string, number>; after: Record<string, number> };
  splits: { val: SplitCalibration; test?: SplitCalibration };
  /** The calibrated predictions, by split (names in the run folder). */
  files: { val: string; test?: string };
}

export interface CalibrateRunResult extends RunCalibration {
  /** The run folder. */
  run: string;
  /** calibration.json's path. */
  path: string;
}

async function requireFile(path: string, dir: string, what: string): Promise<void> {
  if (await exists(path)) return;
  throw new MedtrainError(`the run has no ${what}: it did not finish its end-of-training evaluation, which writes the val predictions and labels that calibration is fitted on`, {
    code: 'run-not-finished',
    file: path,
    hint: `finish the run with \`medtrain train --resume ${dir}\`, then run \`medtrain evaluate --run ${dir} --calibrate\` again`,
  });
}

function splitFiguresOf(names: readonly string[], before: CalibrationFigures[], after: CalibrationFigures[], rows: number, labelChanges: number): SplitCalibration {
  const classes: Record<string, BeforeAfter> = {};
  names.forEach((n, c) => (classes[n] = { before: before[c]!, after: after[c]! }));
  return { rows, classes, macro: { before: meanFigures(before), after: meanFigures(after) }, labelChanges };
}

function meanFigures(f: readonly CalibrationFigures[]): CalibrationFigures {
  const mean = (k: keyof CalibrationFigures) => {
    const v = f.map((x) => x[k]).filter((x): x is number => x !== null);
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
  };
  return { ece: mean('ece'), brier: mean('brier') };
}

/** Entries whose label (score >= threshold) differs between the two score matrices. */
function countLabelChanges(before: ArrayLike<number>, after: ArrayLike<number>, t: readonly number[], tAfter: readonly number[]): number {
  const C = t.length;
  let changed = 0;
  for (let i = 0, c = 0; i < before.length; i++) {
    if (before[i]! >= t[c]! !== after[i]! >= tAfter[c]!) changed++;
    if (++c === C) c = 0;
  }
  return changed;
}

function calibratedCsv(d: PredictionData, scores: Float64Array): string {
  const C = d.classes.length;
  const rows = d.ids.map((id, i) => {
    const row: Record<string, unknown> = { id };
    for (let c = 0; c < C; c++) row[d.classes[c]!] = scores[i * C + c]!;
    return row;
  });
  return toCsv(rows, ['id', ...d.classes]);
}

/**
 * Fit a temperature per class on a finished run's val predictions, apply it to val and test, and
 * write calibration.json and predictions-{val,test}-calibrated.csv into the run folder.
 */
export async function calibrateRun(dir: string, opts: CalibrateOptions = {}): Promise<CalibrateRunResult> {
  const store = await RunStore.open(dir);
  const bins = opts.bins ?? DEFAULT_BINS;
  const p = store.paths;
  await requireFile(p.predictionsVal, store.dir, RUN_FILES.predictionsVal);
  await requireFile(p.labelsVal, store.dir, RUN_FILES.labelsVal);

  // 1. Fit on val alone.
  const val = readPredictionFiles(p.predictionsVal, p.labelsVal);
  const names = val.classes;
  const C = names.length;
  const rowsVal = val.ids.length;
  const temperatures: Record<string, number> = {};
  const unfitted: Record<string, string> = {};
  const fit: Record<string, ClassFit> = {};
  const temps = names.map((name, c) => {
    const f = fitTemperature(val.scores, val.labels, { offset: c, stride: C, length: rowsVal });
    temperatures[name] = f.temperature;
    if (f.kept) unfitted[name] = `${f.kept} on val`;
    fit[name] = { temperature: f.temperature, n: f.n, positives: f.positives, nllBefore: f.nllBefore, nllAfter: f.nllAfter, iterations: f.iterations, ...(f.atLimit && { atLimit: true }) };
    if (f.atLimit) log.warn(`class ${name}: the fitted temperature ${f.temperature} lies at the limit of the search (its val predictions rank no better than chance, or separate perfectly)`);
    return f.temperature;
  });
  if (Object.keys(unfitted).length) log.warn(`temperature 1 kept for ${Object.entries(unfitted).map(([n, why]) => `${n} (${why})`).join(', ')}`);
  const th = await readThresholds(store, names);
  const thAfter = th.map((t, c) => temperatureScale(t, temps[c]!));

  // 2. Apply to val and to test; test labels are read here, after the fit, for the figures only.
  const split = (d: PredictionData, calibrated: Float64Array): SplitCalibration =>
    splitFiguresOf(names, calibrationFigures(d.scores, d.labels, C, bins), calibrationFigures(calibrated, d.labels, C, bins), d.ids.length, countLabelChanges(d.scores, calibrated, th, thAfter));
  const valCal = applyTemperature(val.scores, temps);
  const splits: RunCalibration['splits'] = { val: split(val, valCal) };
  const outputs: [SplitName, PredictionData, Float64Array][] = [['val', val, valCal]];
  if (await exists(p.predictionsTest)) {
    if (!(await exists(p.labelsTest))) throw new MedtrainError(`the run has ${RUN_FILES.predictionsTest} but no ${RUN_FILES.labelsTest}`, { code: 'missing-file', file: p.labelsTest, hint: `the two are written together at the end of training: finish the run with \`medtrain train --resume ${store.dir}\`` });
    const test = readPredictionFiles(p.predictionsTest, p.labelsTest);
    if (test.classes.length !== C || test.classes.some((n, c) => n !== names[c])) {
      throw new MedtrainError(`${RUN_FILES.predictionsTest} has other class columns than ${RUN_FILES.predictionsVal}`, { code: 'missing-columns', file: p.predictionsTest, value: listForMessage(test.classes), hint: `expected, in order: ${listForMessage(names)}` });
    }
    const testCal = applyTemperature(test.scores, temps);
    splits.test = split(test, testCal);
    outputs.push(['test', test, testCal]);
  } else {
    log.info(`${store.dir} has no ${RUN_FILES.predictionsTest} (no test split): calibrated val only`);
  }
  for (const s of Object.keys(splits) as SplitName[]) {
    const changes = splits[s]!.labelChanges;
    if (changes) log.warn(`${s}: ${changes} thresholded label(s) changed by calibration (float rounding at a threshold)`);
  }

  // 3. Write the calibrated predictions, then calibration.json.
  const files: RunCalibration['files'] = { val: RUN_FILES.calibratedVal };
  for (const [s, d, cal] of outputs) {
    const name = s === 'val' ? RUN_FILES.calibratedVal : RUN_FILES.calibratedTest;
    await writeFileAtomic(join(store.dir, name), calibratedCsv(d, cal));
    if (s === 'test') files.test = name;
  }
  const record: RunCalibration = {
    format: CALIBRATION_FORMAT,
    method: 'temperature',
    fittedOn: 'val',
    bins,
    classes: names,
    temperatures,
    unfitted,
    fit,
    thresholds: { before: Object.fromEntries(names.map((n, c) => [n, th[c]!])), after: Object.fromEntries(names.map((n, c) => [n, thAfter[c]!])) },
    splits,
    files,
  };
  await writeJsonAtomic(p.calibration, record);
  const m = splits.test?.macro ?? splits.val.macro;
  log.info(`temperature scaling fitted on val: ${splits.test ? 'test' : 'val'} macro ECE ${fmt(m.before.ece)} -> ${fmt(m.after.ece)}, Brier ${fmt(m.before.brier)} -> ${fmt(m.after.brier)}`);
  return { run: store.dir, path: p.calibration, ...record };
}

function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
}

/** calibrateRun's result as a before/after table for the terminal. */
export function formatCalibration(r: CalibrateRunResult): string {
  const splits = (['val', 'test'] as const).filter((s) => r.splits[s]);
  const head = ['class', 'T', 'threshold', 'after'];
  for (const s of splits) head.push(`${s} ECE`, 'after', `${s} Brier`, 'after');
  const cells = (s: SplitCalibration, get: (s: SplitCalibration) => BeforeAfter) => {
    const f = get(s);
    return [fmt(f.before.ece), fmt(f.after.ece), fmt(f.before.brier), fmt(f.after.brier)];
  };
  const rows = r.classes.map((name) => [
    name,
    r.unfitted[name] ? '1 (kept)' : r.temperatures[name]!.toFixed(3),
    fmt(r.thresholds.before[name], 3),
    fmt(r.thresholds.after[name], 3),
    ...splits.flatMap((s) => cells(r.splits[s]!, (x) => x.classes[name]!)),
  ]);
  const macro = ['macro', '', '', '', ...splits.flatMap((s) => cells(r.splits[s]!, (x) => x.macro))];
  const widths = head.map((h, i) => Math.max(h.length, macro[i]!.length, ...rows.map((row) => row[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  const out = [`temperature scaling of ${r.run}, fitted on val (p' = sigmoid(logit(p) / T)); ECE over ${r.bins} equal-width bins`, '', line(head), rule, ...rows.map(line), rule, line(macro), ''];
  const kept = Object.entries(r.unfitted);
  if (kept.length) out.push(`temperature 1 kept for ${kept.map(([n, why]) => `${n} (${why})`).join(', ')}`);
  for (const s of splits) if (r.splits[s]!.labelChanges) out.push(`${s}: ${r.splits[s]!.labelChanges} thresholded label(s) changed (float rounding at a threshold)`);
  out.push(`wrote ${[RUN_FILES.calibration, r.files.val, ...(r.files.test ? [r.files.test] : [])].join(', ')} in ${r.run}`);
  return `${out.join('\n')}\n`;
}
