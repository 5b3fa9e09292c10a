/**
 * The library's logger. Library code never prints to the console directly: it logs here. Messages go to
 * stderr (so a script's stdout stays clean for --json) and, when a run folder attaches one, to a
 * log file as well.
 */
import { appendFileSync } from 'node:fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface LogSink {
  write(level: Exclude<LogLevel, 'silent'>, scope: string, message: string, fields?: Record<string, unknown>): void;
}

function envLevel(): LogLevel {
  const v = (process.env.MEDTRAIN_LOG_LEVEL ?? '').toLowerCase();
  if (v in ORDER) return v as LogLevel;
  // Keep test output readable unless asked otherwise.
  if (process.env.VITEST) return 'warn';
  return 'info';
}

let level: LogLevel = envLevel();
const sinks = new Set<LogSink>();

/** Writes human-readable lines to stderr. Tests may replace it with `setStderrSink`. */
const stderrSink: LogSink = {
  write(lvl, scope, message) {
    const tag = lvl === 'info' ? '' : `${lvl.toUpperCase()} `;
    process.stderr.write(`[medtrain${scope ? `:${scope}` : ''}] ${tag}${message}\n`);
  },
};
let consoleSink: LogSink | null = stderrSink;

export function setLogLevel(l: LogLevel): void {
  level = l;
}
export function getLogLevel(): LogLevel {
  return level;
}

/** Replace (or with null, silence) the terminal sink. File sinks are unaffected. */
export function setConsoleSink(sink: LogSink | null): void {
  consoleSink = sink;
}

/** The terminal sink now (to wrap it, e.g. a progress bar that redraws itself under log lines). */
export function getConsoleSink(): LogSink | null {
  return consoleSink;
}

export function addLogSink(sink: LogSink): () => void {
  sinks.add(sink);
  return () => sinks.delete(sink);
}

/** A sink that appends JSON lines to a file (the run folder's log). Each line is one write. */
export function fileLogSink(path: string): LogSink {
  return {
    write(lvl, scope, message, fields) {
      const rec = { time: new Date().toISOString(), level: lvl, scope, message, ...(fields ?? {}) };
      appendFileSync(path, `${JSON.stringify(rec)}\n`);
    },
  };
}

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export function createLogger(scope = ''): Logger {
  const emit = (lvl: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    // File sinks record everything from info up, whatever the terminal level.
    for (const s of sinks) if (ORDER[lvl] >= ORDER.info) s.write(lvl, scope, message, fields);
    if (consoleSink && ORDER[lvl] >= ORDER[level]) consoleSink.write(lvl, scope, message, fields);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (s) => createLogger(scope ? `${scope}:${s}` : s),
  };
}

export const log = createLogger();
