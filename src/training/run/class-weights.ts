/**
 * A run's class weights, the one computation training and the saved-run commands share: the class
 * statistics of what training sees (the training split after its file check and upsampling: the
 * training generator's epoch labels) and the weights the benchmark's loss takes from them
 * (classWeightsForLoss with the benchmark's normalisation).
 *
 * Training writes them to dataset.json. evaluate and reevaluate read them back from there; when a run
 * folder lacks dataset.json, `recomputeRunClassWeights` computes them again from the run's data
 * exactly as training did, so a WBCE or CWBCE run is never scored as plain BCE.
 */
import type { BadInputPolicy, ClassStats } from '../../core/types.js';
import { classWeightsForLoss, type ClassWeights } from '../../losses/class-weights.js';
import { MedtrainError } from '../../util/errors.js';
import type { Benchmark } from '../benchmark/benchmark.js';
import { trainGenerator, trainingStats, type RunData } from './data.js';

export interface RunClassWeights {
  /** Per class (the data's class order): what training sees. */
  stats: ClassStats[];
  weights: ClassWeights;
}

/** The class weights of a run from its data and the training generator's epoch labels (`train.epochLabels()`). */
export function runClassWeights(data: RunData, b: Benchmark, epochLabels: Float32Array): RunClassWeights {
  const names = data.classes.names;
  const stats = trainingStats(data.train, data.classes, epochLabels);
  return { stats, weights: classWeightsForLoss(b.loss, stats, b.classWeightNorm, names) };
}

/**
 * The class weights of a run computed again from its data, as training computed them: a training
 * generator checks the training split's files (a missing or unreadable one is left out or fails by
 * the run's image policy, as in training) and gives the epoch labels; no image is decoded.
 */
export async function recomputeRunClassWeights(data: RunData, b: Benchmark, o: { onBadImage?: BadInputPolicy } = {}): Promise<RunClassWeights> {
  // No worker threads: only the file check and the labels are needed, never a batch.
  const train = await trainGenerator(data.train, b, { preprocessing: 'none', workers: 0, cache: null, ...(o.onBadImage && { onBadImage: o.onBadImage }) }, data.classes.names).catch((e: unknown) => {
    if (e instanceof MedtrainError) {
      throw new MedtrainError(`cannot compute the run's class weights again: ${e.problem}`, { code: e.code, file: e.file, line: e.line, column: e.column, value: e.value, hint: e.hint, cause: e });
    }
    throw e;
  });
  try {
    return runClassWeights(data, b, train.epochLabels());
  } finally {
    await train.close();
  }
}
