/**
 * Running `medtrain train` as a child process: the local runner of batches and sweeps. Each run is
 * its own process (its own engine and memory; runs go on at once with --parallel), started with an
 * IPC channel: the epoch gate (epoch-gate.ts) reports each epoch to the caller, and the run stops
 * at once if the caller goes away. The run prints its summary as JSON (--json); its own log is
 * run.log in its folder, and the caller keeps the last lines of its stderr for a failure.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { EpochLogs } from '../training/callbacks/callback.js';
import type { RunSummary } from '../training/run/store.js';
import { MedtrainError } from '../util/errors.js';
import { ensureWritableDir } from '../util/fs.js';
import { isEpochMessage, type GateAnswer } from './epoch-gate.js';
import { claimFolder } from './spec.js';

export const RUNNERS = ['local'] as const;

/** Where and how a batch's or a sweep's runs go. */
export interface RunsOptions {
  /** The folder: new, empty, or the batch's or sweep's own (to continue it). */
  out: string;
  /** The dataset folder (default: as `medtrain train` chooses). */
  data?: string;
  /** Runs at once. Default 1. */
  parallel?: number;
  /** Default local. */
  runner?: string;
  engine?: string;
  /** Stops starting runs and stops the running ones after their current step (Ctrl-C). */
  signal?: AbortSignal;
}

export interface PreparedRuns {
  dir: string;
  parallel: number;
  /** `--data DIR` for a new run, or nothing. */
  data: string[];
  /** Flags every run gets, new or resumed: the engine and the folder's experiment log. */
  common: string[];
}

/** Check the options, claim the folder (its `marker` file says it is this kind's) and make it. */
export async function prepareRuns(o: RunsOptions, marker: string, what: string): Promise<PreparedRuns> {
  if (o.runner !== undefined && !(RUNNERS as readonly string[]).includes(o.runner)) {
    throw new MedtrainError(`unknown runner '${o.runner}'`, { code: 'bad-flag', column: '--runner', value: o.runner, hint: `this version runs on: ${RUNNERS.join(', ')}` });
  }
  const parallel = o.parallel ?? 1;
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new MedtrainError('--parallel needs a whole number of at least 1', { code: 'bad-flag', column: '--parallel', value: parallel });
  const dir = resolve(o.out);
  await claimFolder(dir, marker, what);
  await ensureWritableDir(dir, `${what} folder`);
  return {
    dir,
    parallel,
    data: o.data === undefined ? [] : ['--data', resolve(o.data)],
    common: [...(o.engine === undefined ? [] : ['--engine', o.engine]), '--experiment-log', join(dir, 'experiment-log.jsonl')],
  };
}

/** Whether a run with these flags can start (`medtrain train … --dry-run`, which writes nothing): null, or why not. */
export async function cannotStart(args: string[], dir: string): Promise<string | null> {
  const r = await runTrain({ args: [...args, '--out', join(dir, '.check'), '--dry-run'] });
  return r.code === 0 ? null : (r.error ?? jobError(r));
}

/** The command that runs `medtrain train`: the compiled one in a package, the TypeScript source in the repository. */
function trainCommand(): { argv: string[]; env: NodeJS.ProcessEnv } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const root = join(dirname(here), '..', '..');
    const tsx = join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    return { argv: ['--import', pathToFileURL(tsx).href, join(root, 'scripts', 'train.ts')], env: { TSX_TSCONFIG_PATH: join(root, 'tsconfig.json') } };
  }
  const root = join(dirname(here), '..', '..', '..'); // dist/src/sweeps → the package
  const bin = join(root, 'bin', 'medtrain.js');
  if (!existsSync(bin)) throw new Error(`medtrain's command is missing: ${bin}`);
  return { argv: [bin, 'train'], env: {} };
}

export interface TrainJob {
  /** `medtrain train` flags (--json is added). */
  args: string[];
  /** After each epoch: true to go on, false to stop (prune). Without it the run is never stopped. */
  onEpoch?: (epoch: number, logs: EpochLogs) => boolean | Promise<boolean>;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export interface TrainJobResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The run's summary plus `run` (its folder), when it finished. */
  summary: (RunSummary & { run: string }) | null;
  /** Its error (the message of a medtrain error), when it failed with one. */
  error: string | null;
  /** The last lines of its stderr. */
  stderr: string;
}

/** Run `medtrain train` with the job's flags; resolves when it exits (a failure is in the result, not thrown). */
export function runTrain(job: TrainJob): Promise<TrainJobResult> {
  const cmd = trainCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cmd.argv, ...job.args, '--json'], {
      env: { ...process.env, ...cmd.env, ...job.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += String(d)));
    child.stderr!.on('data', (d) => {
      stderr = (stderr + String(d)).slice(-8000);
    });
    child.on('message', (m) => {
      if (!isEpochMessage(m)) return;
      void Promise.resolve(job.onEpoch ? job.onEpoch(m.epoch, m.logs) : true)
        .catch(() => true)
        .then((go) => {
          if (child.connected) child.send({ medtrain: 'gate', go } satisfies GateAnswer);
        });
    });
    const stop = () => child.kill('SIGINT');
    job.signal?.addEventListener('abort', stop, { once: true });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      job.signal?.removeEventListener('abort', stop);
      let json: Record<string, unknown> | null;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Record<string, unknown>;
      } catch {
        json = null;
      }
      const summary = code === 0 && json && !('error' in json) ? (json as TrainJobResult['summary']) : null;
      const error = json && typeof json.message === 'string' && 'error' in json ? json.message : null;
      resolve({ code, signal, summary, error, stderr: stderr.trim().split('\n').slice(-12).join('\n') });
    });
  });
}

/** Why a run did not finish: its own error message, else the last line of its stderr. */
export function jobError(r: TrainJobResult): string {
  const how = r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
  const last = r.stderr.split('\n').filter((l) => l.trim()).pop();
  return `${how}: ${r.error ?? last ?? 'no message'}`;
}

/** Run tasks with at most `parallel` at once, in order of the list; resolves when all are done. */
export async function pool<T>(items: readonly T[], parallel: number, run: (item: T, index: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < items.length && !signal?.aborted) {
      const k = i++;
      await run(items[k]!, k);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, items.length)) }, worker));
}
