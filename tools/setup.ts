/**
 * What every `medtrain setup <part>` shares: the project a part is set up in (the one whose
 * node_modules holds medtrain, or the medtrain checkout), installing npm packages into it, and
 * running a command with its output kept for the error message.
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MedtrainError, type ErrorDetails } from '../src/util/errors.js';
import { createLogger } from '../src/util/logger.js';

const log = createLogger('setup');

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

/** The project a part is set up in: the one whose node_modules holds medtrain (a user's project), or the medtrain checkout itself. */
export const ROOT = ((): string => {
  const parts = PACKAGE_ROOT.split(sep);
  const i = parts.lastIndexOf('node_modules');
  return i > 0 ? parts.slice(0, i).join(sep) || sep : PACKAGE_ROOT;
})();

/** Whether ROOT is a user's project (medtrain installed in it) rather than the medtrain checkout. */
export const IN_USER_PROJECT = ROOT !== PACKAGE_ROOT;

/**
 * A failed setup step. `fallback` is true when the failure may be specific to the version being set
 * up (for TensorFlow: missing symbols, header or ABI trouble, a crash of the built addon), so an
 * older one is worth trying; false when it is not (no compiler, no network).
 */
export class SetupError extends MedtrainError {
  readonly fallback: boolean;
  constructor(message: string, details: ErrorDetails & { fallback?: boolean } = {}) {
    super(message, { code: 'setup', ...details });
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

/** npm itself: the one running this script when started by `npm run`, else the one on PATH. */
function npmCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  return cli && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
}

/**
 * Install npm packages into the project without running their install scripts. In a user's project
 * they are saved to its package.json, so a later `npm install` keeps them (npm ci removes
 * node_modules: set up again then); in the medtrain checkout package.json stays as it is.
 */
export function npmInstall(specs: readonly string[]): void {
  log.info(`installing ${specs.join(', ')} into ${ROOT}${IN_USER_PROJECT ? ' (saved to its package.json)' : ''}, without install scripts`);
  const [npm, pre] = npmCommand();
  runStep(`npm install ${specs.join(' ')}`, npm, [...pre, 'install', ...(IN_USER_PROJECT ? ['--save', '--save-exact'] : ['--no-save']), '--ignore-scripts', '--no-audit', '--no-fund', ...specs], {
    cwd: ROOT,
    hint: 'check that the npm registry is reachable; the output above says what npm could not do',
  });
}
