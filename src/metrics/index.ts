/**
 * Metrics over typed arrays (no tensors): per-class ranking metrics and curves, scores at operating
 * thresholds, multi-label reports, bootstrap intervals, the DeLong test, epoch-end evaluation, and
 * evaluation of prediction files.
 */
export type { ScoreGroups, ColumnCounts, ColumnView, Numbers, Ranking, Confusion } from './types.js';
export { scoreGroups, groupIndex, weightedGroups, type GroupResult, type GroupIndex } from './groups.js';
export { columnSummary, type ColumnSummary } from './column-summary.js';
export { summarizeColumns, PARALLEL_MIN_ELEMENTS } from './columns.js';
export { startMetricsHelper } from './columns-helper.js';
export { ranking, auroc, averagePrecision, auprc, rocCurve, precisionRecallCurve, confusionAt, type RocCurve, type PrCurve } from './curves.js';
export { thresholdScores, fbetaScore, type ThresholdScores, type ZeroDivision } from './scores.js';
export { chooseThreshold, chooseThresholds, parseThresholdMethod, describeThresholdMethod, type ThresholdMethod, type ChosenThresholds } from './thresholds.js';
export {
  evaluateMultiLabel,
  rankingByClass,
  meanOf,
  type ReportOptions,
  type EvaluationReport,
  type ClassReport,
  type AggregateFigures,
  type RankingFigures,
  type ThresholdFigures,
} from './report.js';
export {
  calibrationReport,
  calibrationFigures,
  expectedCalibrationError,
  brierScore,
  reliabilityBins,
  binEdges,
  DEFAULT_BINS,
  type CalibrationReport,
  type CalibrationFigures,
  type ClassCalibration,
  type ReliabilityBin,
} from './calibration.js';
export { fitTemperature, applyTemperature, temperatureScale, temperatureNll, clampedLogit, PROBABILITY_EPSILON, TEMPERATURE_LIMIT, type TemperatureFit } from './temperature.js';
export { bootstrapReport, quantile, type BootstrapOptions, type BootstrapResult, type Interval, type IntervalSet } from './bootstrap.js';
export { delongTest, erfc, normalSf, normalQuantile, type DelongTest, type DelongAuc } from './delong.js';
export { evaluateEpoch, epochEvaluator, historyEntries, type EpochEvaluation, type EpochOptions, type HistoryRecord } from './epoch.js';
export { readPredictionFiles, readAlignedPredictions, type PredictionData } from './prediction-files.js';
export { evaluatePredictionFiles, type EvaluateFilesOptions, type FileEvaluation } from './evaluate.js';
export { formatEvaluation } from './format.js';
