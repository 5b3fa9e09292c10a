/**
 * Pieces every step of `medtrain setup tensorflow` shares: the pinned versions, the error type that
 * says whether an older TensorFlow might fix the failure, and running a command with its output
 * kept for the error message.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { homedir } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MedtrainError, type ErrorDetails } from '../../src/util/errors.js';

/** The tfjs-node(-gpu) release whose addon is built (the same as @tensorflow/tfjs in package.json). */
export const TFJS_NODE_VERSION = '4.22.0';

/**
 * TensorFlow wheels tried, newest first; the first is the pin. 2.21.0 is verified on Linux x86_64
 * (and the same as test/oracle/requirements.txt, so CI reuses the installed wheel); the older
 * ones are the fallbacks the setup tries when a newer one shows a symbol or ABI problem.
 */
export const TF_VERSIONS = ['2.21.0', '2.20.0', '2.19.1', '2.18.1', '2.17.1', '2.16.2', '2.15.1'] as const;

/** The medtrain package: the nearest folder above this file whose package.json is medtrain's (the checkout, or node_modules/medtrain). */
function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'medtrain') return dir;
    } catch {
      // no package.json here
    }
  }
  throw new Error('medtrain setup: cannot find the medtrain package above this file');
}

/** The medtrain package root. */
export const PACKAGE_ROOT = packageRoot();

/**
 * The project the native engine is built into: the one whose node_modules holds medtrain (a user's
 * project), or the medtrain checkout itself.
 */
export const ROOT = ((): string => {
  const parts = PACKAGE_ROOT.split(sep);
  const i = parts.lastIndexOf('node_modules');
  return i > 0 ? parts.slice(0, i).join(sep) || sep : PACKAGE_ROOT;
})();

/** Whether ROOT is a user's project (medtrain installed in it) rather than the medtrain checkout. */
export const IN_USER_PROJECT = ROOT !== PACKAGE_ROOT;

export const PYTHON = process.env.MEDTRAIN_PYTHON ?? 'python3';

/** Where downloaded wheels and their unpacked libraries are kept between runs. */
export function cacheDir(): string {
  const base = process.env.MEDTRAIN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'medtrain');
  return join(base, 'tensorflow');
}

/**
 * A failed setup step. `fallback` is true when the failure may be specific to this TensorFlow
 * version (missing symbols, header or ABI trouble, a crash of the built addon), so an older wheel
 * is worth trying; false when it is not (no compiler, no network).
 */
export class SetupError extends MedtrainError {
  readonly fallback: boolean;
  constructor(message: string, details: ErrorDetails & { fallback?: boolean } = {}) {
    super(message, { code: 'setup-tensorflow', ...details });
    this.fallback = details.fallback ?? false;
  }
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a command, capturing its output (never printed unless the step fails). */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    throw new SetupError(`cannot run ${cmd}: ${code === 'ENOENT' ? 'not found' : r.error.message}`, {
      hint: code === 'ENOENT' ? `install ${cmd} (Debian 12: apt-get install -y g++ make python3 python3-pip)` : 'see the message above',
      cause: r.error,
    });
  }
  return { status: r.status, signal: r.signal, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** The last lines of a command's output, for an error message. */
export function tail(text: string, lines = 25): string {
  const all = text.trimEnd().split('\n');
  return all.slice(-lines).map((l) => `    ${l}`).join('\n');
}

/** Run a command that must succeed; on failure the error names the step and shows the output's tail. */
export function runStep(step: string, cmd: string, args: string[], opts: SpawnSyncOptions & { hint: string; fallback?: boolean }): RunResult {
  const { hint, fallback, ...spawnOpts } = opts;
  const r = run(cmd, args, spawnOpts);
  if (r.status !== 0) {
    const how = r.signal ? `was killed by ${r.signal}` : `exited with ${r.status}`;
    throw new SetupError(`${step} failed: \`${[cmd, ...args].join(' ')}\` ${how}\n${tail(`${r.stdout}\n${r.stderr}`)}`, { hint, fallback: fallback ?? false });
  }
  return r;
}
