/**
 * The experiment log: one JSON line per run, appended to models/experiment-log.jsonl, shared by
 * every run on the machine. Each line goes out in one O_APPEND write while holding a lock file
 * beside the log (`<log>.lock`, created exclusively), so lines from concurrent runs never
 * interleave, whatever their size and whatever the file system does with large appends. A lock
 * left by a dead process (same host) or older than `staleMs` is broken.
 *
 * Reading tolerates a torn last line (a writer killed mid-write on a file system without atomic
 * appends) with a warning, and names any other unreadable line.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MedtrainError } from '../../util/errors.js';
import { appendLine } from '../../util/fs.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger('experiment-log');

export const DEFAULT_EXPERIMENT_LOG = 'models/experiment-log.jsonl';

export interface ExperimentLogEntry {
  /** ISO time of the append. */
  time: string;
  /** The benchmark's canonical name. */
  name: string;
  /** The run folder. */
  run: string;
  status: 'completed' | 'stopped' | 'interrupted' | 'failed';
  [k: string]: unknown;
}

export interface AppendOptions {
  /** Give up waiting for the lock after this long (default 30 s). */
  timeoutMs?: number;
  /** A lock older than this is a leftover (default 60 s; an append holds it for milliseconds). */
  staleMs?: number;
}

interface LockOwner {
  pid: number;
  host: string;
  time: number;
}

async function readOwner(lock: string): Promise<LockOwner | null> {
  try {
    return JSON.parse(await fsp.readFile(lock, 'utf8')) as LockOwner;
  } catch {
    return null; // gone, or being written
  }
}

function deadOnThisHost(o: LockOwner): boolean {
  if (o.host !== hostname()) return false;
  try {
    process.kill(o.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function withLock<T>(path: string, o: AppendOptions, fn: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + (o.timeoutMs ?? 30_000);
  const staleMs = o.staleMs ?? 60_000;
  for (let attempt = 0; ; attempt++) {
    let fh: fsp.FileHandle | null = null;
    try {
      fh = await fsp.open(lock, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (fh) {
      try {
        await fh.write(JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() } satisfies LockOwner));
      } finally {
        await fh.close();
      }
      try {
        return await fn();
      } finally {
        await fsp.rm(lock, { force: true });
      }
    }
    const owner = await readOwner(lock);
    const st = await fsp.stat(lock).catch(() => null);
    if (st && ((owner && deadOnThisHost(owner)) || Date.now() - st.mtimeMs > staleMs)) {
      log.warn(`removing a stale lock ${lock} (${owner ? `pid ${owner.pid} on ${owner.host}` : 'unreadable'})`);
      await fsp.rm(lock, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new MedtrainError('the experiment log stays locked', {
        code: 'log-locked',
        file: lock,
        hint: `another run holds it${owner ? ` (pid ${owner.pid} on ${owner.host})` : ''}; if none is running, delete the lock file`,
      });
    }
    // Back off a little more each time, spread by pid so waiters do not move in step.
    await sleep(Math.min(50, 1 + attempt) + (process.pid % 5));
  }
}

/** Append one entry as one line. Creates the log (and its folder) when missing. */
export async function appendExperimentLog(entry: ExperimentLogEntry, path = DEFAULT_EXPERIMENT_LOG, o: AppendOptions = {}): Promise<void> {
  const line = JSON.stringify(entry);
  if (line === undefined) throw new Error('appendExperimentLog: the entry does not serialise to JSON');
  await fsp.mkdir(dirname(path), { recursive: true });
  await withLock(path, o, () => appendLine(path, line)); // JSON.stringify escapes newlines inside strings
}

export interface ExperimentLogRead {
  entries: ExperimentLogEntry[];
  /** Lines that could not be read, with why (1-based line numbers). */
  skipped: { line: number; reason: string }[];
}

/** Read the log back. A missing log reads as empty. */
export async function readExperimentLog(path = DEFAULT_EXPERIMENT_LOG): Promise<ExperimentLogRead> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], skipped: [] };
    throw new MedtrainError('cannot read the experiment log', { code: 'bad-log', file: path, hint: (e as Error).message, cause: e });
  }
  const lines = text.split('\n');
  const torn = lines.pop()!; // '' when the file ends with a newline
  const entries: ExperimentLogEntry[] = [];
  const skipped: ExperimentLogRead['skipped'] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      const v = JSON.parse(l) as unknown;
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
      entries.push(v as ExperimentLogEntry);
    } catch (e) {
      skipped.push({ line: i + 1, reason: `unreadable line: ${(e as Error).message}` });
      log.warn(`${path}:${i + 1}: unreadable line skipped (${(e as Error).message})`);
    }
  });
  if (torn.trim()) {
    skipped.push({ line: lines.length + 1, reason: 'torn last line (no newline): a writer stopped mid-line' });
    log.warn(`${path}:${lines.length + 1}: the last line is torn (a writer stopped mid-line); skipped`);
  }
  return { entries, skipped };
}
