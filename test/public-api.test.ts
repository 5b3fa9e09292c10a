/**
 * The public API is the explicit list in src/index.ts. This snapshot makes every change to it a
 * deliberate one: a name added or removed here is a change users see.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

/** Every name src/index.ts exports, values and types ('type X'), from its text. */
function exportedNames(): string[] {
  const text = readFileSync(join(import.meta.dirname, '..', 'src', 'index.ts'), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/export \{([^}]*)\} from/g)) {
    for (const raw of m[1]!.split(',').map((s) => s.trim()).filter(Boolean)) {
      const isType = raw.startsWith('type ');
      const [name, alias] = raw.replace(/^type /, '').split(/\s+as\s+/);
      names.push(`${isType ? 'type ' : ''}${alias ?? name}`);
    }
  }
  for (const m of text.matchAll(/export \* as (\w+)/g)) names.push(m[1]!);
  if (/export \* from/.test(text)) throw new Error('src/index.ts re-exports a whole module: list the names');
  return names.sort((a, b) => a.replace('type ', '').localeCompare(b.replace('type ', '')));
}

const API = [
  'addLogSink', 'applyTemperature', 'AshaPruner', 'type Batch', 'type BatchResult', 'type BatchSpec', 'Benchmark', 'BENCHMARK_FLAGS',
  'type BenchmarkFields', 'benchmarkGrammar', 'type BenchmarkJSON', 'bootstrapReport', 'type CalibrateOptions', 'calibrateRun',
  'type CalibrateRunResult', 'calibrationReport', 'type CalibrationReport', 'type Callback', 'type CaseRecord', 'chooseThresholds',
  'Classifier', 'classSetNames', 'type ClassStats', 'cli', 'computeClassWeights', 'createLoss', 'createModel', 'type CreateModelOptions',
  'createOptimizer', 'crossValidate', 'type CrossValidation', 'type CrossValidationOptions', 'currentEngine', 'DATA_DEFAULTS',
  'type DataReport', 'type Dataset', 'type DatasetOptions', 'delongTest', 'describeModels', 'type DoctorReport', 'type EngineInfo',
  'type EngineName', 'type EngineRequest', 'ENGINES', 'type EnsembleConfig', 'type EnsembleMethod', 'type EnsembleOptions',
  'type EnsembleResult', 'ensembleRuns', 'epochEvaluator', 'EpochGate', 'evaluateEnsemble', 'evaluateMultiLabel', 'evaluatePredictionFiles',
  'evaluateRun', 'type EvaluationReport', 'Experiment', 'type ExperimentOptions', 'explain', 'type ExplainOptions', 'type ExplainResult',
  'type FindingLocations', 'fitTemperature', 'formatCalibration', 'formatDataReport', 'formatDoctor', 'formatEvaluation',
  'type HeatmapMethod', 'ImageDataGenerator', 'initBackend', 'inspectData', 'type InspectOptions', 'isEnsembleFolder', 'loadClassifier',
  'loadKerasWeights', 'type LocatedBox', 'type LogLevel', 'LOSSES', 'type LossFn', 'type LossName', 'makePhantom', 'MASKED', 'MedianPruner',
  'MedtrainError', 'openDataset', 'parseBlankPolicy', 'parseUncertainty', 'PHANTOM_DEFAULTS', 'type PhantomSummary', 'pointingAccuracy',
  'pointingHit', 'type PointingScore', 'type PointingTrial', 'precisionRecallCurve', 'predictEnsemble', 'type PredictResult', 'predictRun',
  'readExperimentLog', 'readFindingLocations', 'reevaluateRun', 'type Reevaluation', 'type ReliabilityBin', 'Rng', 'rocCurve', 'runBatch',
  'type RunCalibration', 'type RunConfig', 'runDoctor', 'type RunEvaluation', 'type RunResult', 'type RunsOptions', 'RunStore',
  'type RunSummary', 'runSweep', 'scaleBoxes', 'setLogLevel', 'shutdownBackend', 'type SpaceSpec', 'standardCallbacks', 'sweep',
  'type SweepOptions', 'type SweepResult', 'type SweepSpec', 'type TableSpec', 'type TemperatureFit', 'type ThresholdMethod', 'TpeSampler',
  'Trainer', 'type TrainerOptions', 'type TrainingSweepResult', 'type Trial', 'TrialPruned', 'type Uncertainty',
];

describe('the public API', () => {
  it('is exactly the reviewed list of names', () => {
    expect(exportedNames()).toEqual(API);
  });

  it('exports at run time every value name of the list, and nothing else', () => {
    const values = API.filter((n) => !n.startsWith('type ')).sort();
    expect(Object.keys(api).sort()).toEqual(values);
    for (const n of values) expect((api as Record<string, unknown>)[n], n).toBeDefined();
  });
});
