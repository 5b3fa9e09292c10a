/**
 * medtrain's public API: everything a user's script may import.
 */
export * from './backend/index.js';
export { MedtrainError, isMedtrainError } from './util/errors.js';
export { createLogger, setLogLevel, addLogSink, fileLogSink, type Logger, type LogLevel } from './util/logger.js';
export { Rng, type RngState } from './util/rng.js';
export {
  createModel,
  loadClassifier,
  Classifier,
  type CreateModelOptions,
  type ClassifierConfig,
  type HeadActivation,
  type WeightsInfo,
} from './models/classifier.js';
export { MODELS, modelNames, getModelSpec, buildBackbone, describeModels, type ModelSpec, type ModelInfo, type WeightFileRef } from './models/registry.js';
export type { BackboneOptions, Pooling } from './models/backbone.js';
export { PREPROCESSING_MODES, preprocessInPlace, type PreprocessingMode } from './models/preprocessing.js';
export { loadKerasWeights, openKerasWeights, type KerasWeightsReport, type LoadKerasWeightsOptions, type KerasWeightsFormat } from './models/weights/keras.js';
export { saveModel, loadModel, fileSystemIO, type SaveModelOptions, type SavedModelInfo, type LoadedModel, type NamedTensor } from './models/weights/tfjs-io.js';
export { findImagenetWeights, weightsDir, kerasCacheDir } from './models/weights/imagenet.js';
export { CustomScaleLayer, KerasNormalization, ChannelRescaling, SeededDropout, applyKerasBatchNormSemantics } from './models/custom-layers.js';
