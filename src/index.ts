/**
 * medtrain's public API: everything a user's script may import.
 */
export * from './backend/index.js';
export { MedtrainError, isMedtrainError } from './util/errors.js';
export { createLogger, setLogLevel, addLogSink, fileLogSink, type Logger, type LogLevel } from './util/logger.js';
export { Rng, type RngState } from './util/rng.js';
export * from './training/index.js';
// LossFn and LossName come from training (the same types).
export {
  maskedBinaryCrossentropy,
  bce,
  wbce,
  cwbce,
  focalLoss,
  createLoss,
  EPSILON,
  computeClassWeights,
  classWeightsForLoss,
  l1Times10,
  describeScheme,
  type LossOptions,
  type FocalOptions,
  type PosNegWeights,
  type CreateLossOptions,
  type ClassWeights,
  type WeightScheme,
  type Normalization,
} from './losses/index.js';
export * from './metrics/index.js';
