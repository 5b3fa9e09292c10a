/**
 * medtrain's public API: everything a user's script may import.
 */
export * from './backend/index.js';
export { MedtrainError, isMedtrainError } from './util/errors.js';
export { createLogger, setLogLevel, addLogSink, fileLogSink, type Logger, type LogLevel } from './util/logger.js';
export { Rng, type RngState } from './util/rng.js';
export * from './training/index.js';
