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
