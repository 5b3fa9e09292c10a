/**
 * `evaluatePredictionFiles`: the whole of `medtrain evaluate --predictions P.csv --labels L.csv`
 * as one library call: read and align the files, choose or take the operating thresholds, compute
 * the per-class report (calibration included: ECE, Brier, reliability bins), and optionally
 * bootstrap intervals and a paired DeLong comparison with a second model's predictions.
 */
import { createLogger } from '../util/logger.js';
import { MedtrainError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import { bootstrapReport, type BootstrapResult } from './bootstrap.js';
import { delongTest, type DelongTest } from './delong.js';
import { readAlignedPredictions, readPredictionFiles, type PredictionData } from './prediction-files.js';
import { evaluateMultiLabel, type EvaluationReport } from './report.js';
import type { ZeroDivision } from './scores.js';
import { chooseThresholds, describeThresholdMethod, parseThresholdMethod, type ThresholdMethod } from './thresholds.js';

const log = createLogger('evaluate');

export interface EvaluateFilesOptions {
  predictions: string;
  labels: string;
  /**
   * Operating thresholds: a method (youden, balanced, f1, f<beta>), one number, or one number per
   * class separated by commas (default 0.5).
   */
  thresholds?: string;
  /** Validation predictions and labels to choose the thresholds on (else they are chosen on the evaluated data). */
  valPredictions?: string;
  valLabels?: string;
  /** Bootstrap replicates for 95% intervals (0 or absent: none). */
  bootstrap?: number;
  /** Seed of the bootstrap's generator (default 0). */
  seed?: string | number;
  /** Labels column with a patient id: resample patients instead of cases. */
  groupColumn?: string;
  /** Confidence level of the intervals (default 0.95). */
  level?: number;
  /** A second model's predictions of the same cases: paired DeLong test per class. */
  compare?: string;
  zeroDivision?: ZeroDivision;
  /** Extra F-beta scores (f1 and f2 are always reported). */
  betas?: number[];
  /** Equal-width bins of the expected calibration error and the reliability data (default 15). */
  bins?: number;
}

export interface FileEvaluation extends EvaluationReport {
  predictions: string;
  labels: string;
  /** The method or value(s) the thresholds came from. */
  thresholdMethod: string;
  /** Where thresholds were chosen: 'fixed' (given), 'validation' (the --val files) or 'evaluated data' (optimistic). */
  thresholdSource: 'fixed' | 'validation' | 'evaluated data';
  /** Classes whose threshold method was undefined on the data it was chosen on; they use 0.5. */
  thresholdFallback: string[];
  ignoredLabelColumns: string[];
  bootstrap?: BootstrapResult;
  delong?: { compare: string; classes: Record<string, DelongTest> };
}

function parseThresholds(text: string | undefined, numClasses: number): ThresholdMethod | number[] {
  if (text === undefined) return 0.5;
  if (text.includes(',')) {
    const parts = text.split(',').map((s) => s.trim());
    const values = parts.map(Number);
    if (parts.length !== numClasses || values.some((v, i) => parts[i] === '' || !Number.isFinite(v))) {
      throw new MedtrainError(`--thresholds lists ${parts.length} value(s) for ${numClasses} classes`, {
        code: 'bad-threshold',
        column: '--thresholds',
        value: text,
        hint: 'give one number per class in the predictions column order, or a method (youden, balanced, f1)',
      });
    }
    return values;
  }
  return parseThresholdMethod(text);
}

export function evaluatePredictionFiles(opts: EvaluateFilesOptions): FileEvaluation {
  const data = readPredictionFiles(opts.predictions, opts.labels, { groupColumn: opts.groupColumn });
  const C = data.classes.length;
  const spec = parseThresholds(opts.thresholds, C);
  let thresholds: number[];
  let source: FileEvaluation['thresholdSource'] = 'fixed';
  let fellBack: string[] = [];
  if (Array.isArray(spec)) thresholds = spec;
  else if (typeof spec === 'number') thresholds = new Array<number>(C).fill(spec);
  else {
    let on: PredictionData = data;
    if (opts.valPredictions || opts.valLabels) {
      if (!opts.valPredictions || !opts.valLabels) throw new MedtrainError('choosing thresholds on validation data needs both --val-predictions and --val-labels', { code: 'bad-flag' });
      on = readPredictionFiles(opts.valPredictions, opts.valLabels);
      const missing = data.classes.filter((c, i) => on.classes[i] !== c);
      if (missing.length || on.classes.length !== C) throw new MedtrainError('the validation predictions must have the same class columns, in the same order, as the evaluated ones', { code: 'missing-columns', file: opts.valPredictions });
      source = 'validation';
    } else {
      source = 'evaluated data';
      log.warn('thresholds chosen on the evaluated data itself: the scores at them are optimistic; pass --val-predictions/--val-labels to choose them on validation data');
    }
    const chosen = chooseThresholds(on.scores, on.labels, C, spec, { classNames: data.classes });
    thresholds = chosen.thresholds;
    fellBack = chosen.fellBack;
    if (fellBack.length) log.warn(`threshold method ${describeThresholdMethod(spec)} is undefined for ${fellBack.join(', ')}; they use 0.5`);
  }
  const common = { classNames: data.classes, thresholds, zeroDivision: opts.zeroDivision, betas: opts.betas };
  const report = evaluateMultiLabel(data.scores, data.labels, C, { ...common, calibrationBins: opts.bins });
  const out: FileEvaluation = {
    predictions: opts.predictions,
    labels: opts.labels,
    ...report,
    thresholdMethod: Array.isArray(spec) ? spec.join(',') : describeThresholdMethod(spec),
    thresholdSource: source,
    thresholdFallback: fellBack,
    ignoredLabelColumns: data.ignoredLabelColumns,
  };
  if (opts.bootstrap) {
    out.bootstrap = bootstrapReport(data.scores, data.labels, C, {
      ...common,
      rng: new Rng(opts.seed ?? 0),
      replicates: opts.bootstrap,
      level: opts.level,
      groups: data.groups,
    });
  }
  if (opts.compare) {
    const other = readAlignedPredictions(opts.compare, data);
    const classes: Record<string, DelongTest> = {};
    data.classes.forEach((name, c) => {
      classes[name] = delongTest(data.scores, other, data.labels, { view: { offset: c, stride: C, length: data.ids.length }, level: opts.level });
    });
    out.delong = { compare: opts.compare, classes };
  }
  return out;
}
