/**
 * Losses for multi-label heads (masked BCE, WBCE, CWBCE, focal) and the class weights they use.
 */
export {
  maskedBinaryCrossentropy,
  bce,
  wbce,
  cwbce,
  focalLoss,
  createLoss,
  EPSILON,
  type LossFn,
  type LossOptions,
  type FocalOptions,
  type PosNegWeights,
  type CreateLossOptions,
} from './losses.js';
export { computeClassWeights, classWeightsForLoss, l1Times10, describeScheme, type ClassWeights, type WeightScheme, type Normalization, parseNormalization, NORMALIZATIONS } from './class-weights.js';
export { LOSSES, lossOf, parseLossName, type LossName } from './names.js';
