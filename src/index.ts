/**
 * medtrain's public API: the names a user's script imports, grouped as the flow goes (engine →
 * benchmark → experiment → saved runs; then the parts a custom script composes: data, models,
 * losses, metrics, the training loop). Everything else is internal and may change.
 * test/public-api.test.ts keeps this list honest (a snapshot of every name).
 */

// Engines: choose and start the fastest TensorFlow.js engine the machine has.
export { initBackend, currentEngine, shutdownBackend, ENGINES, type EngineName, type EngineRequest, type EngineInfo } from './backend/engines.js';
export { runDoctor, formatDoctor, type DoctorReport } from './backend/doctor.js';

// Benchmarks: one experiment described by a name, its fields and overrides.
export { Benchmark, type BenchmarkJSON } from './training/benchmark/benchmark.js';
export { type BenchmarkFields } from './training/benchmark/fields.js';
export { BENCHMARK_FLAGS } from './training/benchmark/overrides.js';
export { grammarTable as benchmarkGrammar } from './training/benchmark/name.js';

// Experiments and saved runs: train a benchmark into a run folder, then evaluate, predict, reevaluate.
export { Experiment, type ExperimentOptions, type RunResult } from './training/experiment.js';
export { evaluateRun, type RunEvaluation } from './training/run/eval.js';
export { predictRun, type PredictResult } from './training/run/predict.js';
export { calibrateRun, formatCalibration, type CalibrateRunResult, type RunCalibration, type CalibrateOptions } from './training/run/calibrate.js';
export { calibrationReport, type CalibrationReport, type ReliabilityBin } from './metrics/calibration.js';
export { fitTemperature, applyTemperature, type TemperatureFit } from './metrics/temperature.js';
export { reevaluateRun, type Reevaluation } from './training/run/reevaluate.js';
export { type RunConfig } from './training/run/config.js';
export { RunStore, type RunSummary } from './training/run/store.js';
export { readExperimentLog } from './training/run/experiment-log.js';

// Many runs: cross-validation, batches, hyperparameter sweeps (over benchmarks, or any function).
export { crossValidate, type CrossValidation, type CrossValidationOptions } from './sweeps/cross-validation.js';
export { runBatch, type BatchSpec, type BatchResult } from './sweeps/batch.js';
export { type RunsOptions } from './sweeps/runner.js';
export { runSweep, type SweepSpec, type TrainingSweepResult } from './sweeps/training-sweep.js';
export { sweep, TrialPruned, type SweepOptions, type SweepResult, type Trial } from './sweeps/study.js';
export { type SpaceSpec } from './sweeps/space.js';
export { TpeSampler } from './sweeps/samplers/tpe.js';
export { MedianPruner, AshaPruner } from './sweeps/pruners.js';
export { EpochGate } from './sweeps/epoch-gate.js';

// Ensembles: combine finished runs into a folder that evaluate and predict take as a run.
export { ensembleRuns, type EnsembleOptions, type EnsembleResult, type EnsembleConfig } from './ensembles/ensemble.js';
export { evaluateEnsemble, predictEnsemble, isEnsembleFolder } from './ensembles/use.js';
export { type EnsembleMethod } from './ensembles/combine.js';

// Heatmaps: where a run's model looks.
export { explain, type ExplainOptions, type ExplainResult } from './explain/explain.js';
export { type HeatmapMethod } from './explain/maps.js';
export { pointingHit, pointingAccuracy, type PointingTrial, type PointingScore } from './explain/pointing.js';

// Data: label tables to batches.
export { MASKED, type CaseRecord, type Batch, type ClassStats } from './core/types.js';
export { openDataset, DATA_DEFAULTS, type Dataset, type DatasetOptions, type TableSpec } from './data/dataset.js';
export { inspectData, formatDataReport, type InspectOptions, type DataReport } from './data/inspect.js';
export { classSetNames } from './data/labels/classes.js';
export { parseUncertainty, type Uncertainty } from './data/labels/uncertainty.js';
export { parseBlankPolicy } from './data/labels/encode.js';
export { ImageDataGenerator } from './data/generator.js';
export { makePhantom, type PhantomSummary } from './data/phantom/write.js';
export { PHANTOM_DEFAULTS } from './data/phantom/plan.js';
export { readFindingLocations, scaleBoxes, type FindingLocations, type LocatedBox } from './data/phantom/findings.js';

// Models: Keras-layout backbones with a classification head, and weight files.
export { createModel, loadClassifier, Classifier, type CreateModelOptions } from './models/classifier.js';
export { describeModels } from './models/registry.js';
export { loadKerasWeights } from './models/weights/keras.js';

// Losses and class weights.
export { createLoss, type LossFn } from './losses/losses.js';
export { LOSSES, type LossName } from './losses/names.js';
export { computeClassWeights } from './losses/class-weights.js';

// Metrics over typed arrays: per-class reports, thresholds, intervals, comparisons, prediction files.
export { evaluateMultiLabel, type EvaluationReport } from './metrics/report.js';
export { chooseThresholds, type ThresholdMethod } from './metrics/thresholds.js';
export { bootstrapReport } from './metrics/bootstrap.js';
export { delongTest } from './metrics/delong.js';
export { rocCurve, precisionRecallCurve } from './metrics/curves.js';
export { epochEvaluator } from './metrics/epoch.js';
export { evaluatePredictionFiles } from './metrics/evaluate.js';
export { formatEvaluation } from './metrics/format.js';

// The training loop: a Trainer, its callbacks and optimizers.
export { Trainer, type TrainerOptions } from './training/trainer.js';
export { type Callback } from './training/callbacks/callback.js';
export { standardCallbacks } from './training/callbacks/index.js';
export { createOptimizer } from './training/optimizers.js';

// Errors, logging, the seeded generator, and the flag parsing the `medtrain` commands share.
export { MedtrainError } from './util/errors.js';
export { setLogLevel, addLogSink, type LogLevel } from './util/logger.js';
export { Rng } from './util/rng.js';
export * as cli from './util/cli.js';
