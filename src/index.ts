/**
 * medtrain's public API: everything a user's script may import.
 */
export * from './backend/index.js';
export { MedtrainError, isMedtrainError } from './util/errors.js';
export { createLogger, setLogLevel, addLogSink, fileLogSink, type Logger, type LogLevel } from './util/logger.js';
export { Rng, type RngState } from './util/rng.js';
export * from './training/index.js';
export { runDoctor, formatDoctor, type DoctorReport, type DoctorEngine, type DoctorOptions } from './backend/doctor.js';
export { buildSmallCnn, measureSmallCnnThroughput, SMALL_CNN, type SmallCnnOptions, type ThroughputOptions, type Throughput } from './backend/small-cnn.js';
export {
  makePhantom,
  planPhantom,
  renderPhantomCases,
  renderPhantomImage,
  readPhantomMarker,
  phantomDims,
  labelCells,
  CHEXPERT_LABELS,
  CHEXPERT_HEADER,
  COMPETITION_LABELS,
  PHANTOM_DEFAULTS,
  PHANTOM_VERSION,
  PHANTOM_MARKER,
  type ChexpertLabel,
  type MakePhantomOptions,
  type PhantomSummary,
  type PhantomSplitSummary,
  type PhantomMarker,
  type PhantomCase,
  type PhantomStudy,
  type PhantomView,
  type RenderedCase,
  type RenderCasesOptions,
  type Severity,
} from './data/phantom.js';
export * from './losses/index.js';
// Both training and losses name these (the same types); training's are the public ones.
export { type LossFn, type LossName } from './training/index.js';
export * from './metrics/index.js';

// Data: label tables, labels, splits, images, augmentation, the generator, inspection.
export * from './core/types.js';
export { readChexpert, CHEXPERT_CLASSES, parseViews, matchesViews, type ChexpertOptions, type ViewFilter } from './data/tables/chexpert.js';
export { readChestXray14, CHESTXRAY14_CLASSES, type ChestXray14Options } from './data/tables/chestxray14.js';
export { readGenericCsv, type GenericCsvOptions } from './data/tables/generic.js';
export { detectDataset, type DetectedDataset } from './data/tables/detect.js';
export { type TableOptions } from './data/tables/cells.js';
export {
  N5,
  N12,
  N14,
  resolveClasses,
  resolveUncertainty,
  encodeLabels,
  classStats,
  selectRows,
  mixedByCount,
  classSetNames,
  upsamplingFactors,
  parseBlankPolicy,
  LSR_ONES,
  LSR_ZEROS,
  UNCERTAINTY_MODES,
  type ClassSetSpec,
  type ResolvedClasses,
  type UncertaintyMode,
  type UncertaintySpec,
  type MixedUncertainty,
  type EncodeOptions,
} from './data/labels.js';
export { splitByPatient, groupedKFold, writeSplitCsv, readSplitCsv, type Split, type SplitOptions, type KFoldOptions, type Stratify } from './data/split.js';
export {
  decodeImage,
  prepareImage,
  resample,
  lungFieldBox,
  parseTransforms,
  jpegDecoder,
  ImageDecodeError,
  DEFAULT_IMAGE_SETTINGS,
  type RawImage,
  type PreparedImage,
  type ImageSettings,
  type IntensityTransform,
  type WindowSpec,
  type CropMode,
  type FitMode,
} from './data/image.js';
export { parseAugment, augmentName, drawTransform, renderSample, DEFAULT_AFFINE, DEFAULT_COLOR, type AugmentConfig, type AffineConfig, type ColorConfig } from './data/augment.js';
export { ImageDataGenerator, batchToTensors, type GeneratorOptions, type DataThroughput, type BatchTensors } from './data/generator.js';
export { summarizeSkipped, formatSkipped, type SkippedSummary } from './data/skipped.js';
export { inspectData, formatDataReport, DEFAULT_VAL, DEFAULT_SEED, type InspectOptions, type DataReport } from './data/inspect.js';

// Models: backbones, the classifier head, weight files.
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
export { PREPROCESSING_MODES, preprocessInPlace, type PreprocessingMode } from './core/preprocessing.js';
export { loadKerasWeights, openKerasWeights, type KerasWeightsReport, type LoadKerasWeightsOptions, type KerasWeightsFormat } from './models/weights/keras.js';
export { saveModel, loadModel, fileSystemIO, type SaveModelOptions, type SavedModelInfo, type LoadedModel, type NamedTensor } from './models/weights/tfjs-io.js';
export { findImagenetWeights, weightsDir, kerasCacheDir } from './models/weights/imagenet.js';
export { CustomScaleLayer, KerasNormalization, ChannelRescaling, SeededDropout, applyKerasBatchNormSemantics } from './models/custom-layers.js';
