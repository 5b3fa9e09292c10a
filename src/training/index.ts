/**
 * The training core's public API: Benchmark names, the Trainer and its callbacks, optimizers with
 * resumable state, the run folder and the experiment log.
 */
export {
  Benchmark,
  DEFAULTS as BENCHMARK_DEFAULTS,
  BENCHMARK_FLAGS,
  FIELD_KEYS as BENCHMARK_FIELDS,
  KNOWN_MODELS,
  CLASS_SETS,
  DATASETS,
  LOSSES,
  OPTIMIZERS,
  lrToken,
  type BenchmarkFields,
  type BenchmarkJSON,
  type BenchmarkOverrides,
  type ClassSelection,
  type ClassSetName,
  type ClassSetResolver,
  type DatasetName,
  type LossName,
  type OptimizerName,
  type AugmentationName,
  type ClassWeightNorm,
  type BlankPolicy,
  type Transform,
  type Uncertainty,
  type ParseOptions,
} from './benchmark.js';
export {
  Trainer,
  tensorSource,
  predictSource,
  evaluateSource,
  type TrainerOptions,
  type FitOptions,
  type FitResult,
  type LossFn,
  type EvaluateFn,
  type MetricValues,
  type DataSource,
  type SourceLike,
  type BatchInput,
  type TensorBatch,
  type Predictions,
  type Evaluation,
} from './trainer.js';
export * from './callbacks/index.js';
export { createOptimizer, getLearningRate, setLearningRate, snapshotOptimizer, restoreOptimizer, type OptimizerSnapshot } from './optimizers.js';
export { RunStore, RUN_FILES, loadWeightsInto, type RunPaths, type RunSummary, type CheckpointInfo, type LoadedCheckpoint, type DatasetReport } from './run/store.js';

export { appendExperimentLog, readExperimentLog, DEFAULT_EXPERIMENT_LOG, type ExperimentLogEntry, type ExperimentLogRead, type AppendOptions } from './run/experiment-log.js';
export { Experiment, DEFAULT_RUNS_DIR, type ExperimentOptions, type RunResult } from './experiment.js';
export { RUN_FORMAT, DEFAULT_HEAD, DEFAULT_TRAINING, type RunConfig, type HeadSettings, type TrainingSettings } from './run/config.js';
export { DEFAULT_DATA_DIR, cacheDir, locateData, ensurePhantom, type DataLocation } from './run/default-data.js';
export { type TableSpec } from './run/data.js';
export {
  openRun,
  evaluateRun,
  predictRun,
  reevaluateRun,
  type OpenedRun,
  type RunEvaluation,
  type Prediction,
  type PredictResult,
  type EpochRow,
  type Reevaluation,
  type SplitName,
} from './run/eval.js';
