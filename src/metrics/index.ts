/**
 * Metrics over typed arrays (no tensors): per-class ranking metrics and curves, scores at operating
 * thresholds, multi-label reports, bootstrap intervals, the DeLong test, epoch-end evaluation, and
 * evaluation of prediction files.
 */
export { scoreGroups, columnSummary, groupIndex, weightedGroups, type ScoreGroups, type GroupResult, type ColumnCounts, type ColumnSummary, type GroupIndex, type ColumnView, type Numbers } from './groups.js';
export { summarizeColumns, startMetricsHelper, PARALLEL_MIN_ELEMENTS } from './columns.js';
export { ranking, auroc, averagePrecision, auprc, rocCurve, precisionRecallCurve, confusionAt, type Ranking, type RocCurve, type PrCurve, type Confusion } from './curves.js';
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
export { bootstrapReport, quantile, type BootstrapOptions, type BootstrapResult, type Interval, type IntervalSet } from './bootstrap.js';
export { delongTest, erfc, normalSf, normalQuantile, type DelongTest, type DelongAuc } from './delong.js';
export { evaluateEpoch, epochEvaluator, historyEntries, type EpochEvaluation, type EpochOptions, type HistoryRecord } from './epoch.js';
export { readPredictionFiles, readAlignedPredictions, type PredictionData } from './prediction-files.js';
export { evaluatePredictionFiles, type EvaluateFilesOptions, type FileEvaluation } from './evaluate.js';
export { formatEvaluation } from './format.js';
