/**
 * What the steps of `medtrain setup tensorflow` share beyond tools/setup.ts: the pinned versions,
 * the Python to ask, and the wheel cache.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
export { IN_USER_PROJECT, ROOT, SetupError, run, runStep, tail, type RunResult } from '../setup.js';

/** The tfjs-node(-gpu) release whose addon is built (the same as @tensorflow/tfjs in package.json). */
export const TFJS_NODE_VERSION = '4.22.0';

/**
 * TensorFlow wheels tried, newest first; the first is the pin. 2.21.0 is verified on Linux x86_64
 * (and the same as test/oracle/requirements.txt, so CI reuses the installed wheel); the older
 * ones are the fallbacks the setup tries when a newer one shows a symbol or ABI problem.
 */
export const TF_VERSIONS = ['2.21.0', '2.20.0', '2.19.1', '2.18.1', '2.17.1', '2.16.2', '2.15.1'] as const;

export const PYTHON = process.env.MEDTRAIN_PYTHON ?? 'python3';

/** Where downloaded wheels and their unpacked libraries are kept between runs. */
export function cacheDir(): string {
  const base = process.env.MEDTRAIN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'medtrain');
  return join(base, 'tensorflow');
}

