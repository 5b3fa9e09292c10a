/**
 * Oracle tests run Python (Keras, scikit-learn, TensorBoard) beside medtrain and compare numbers.
 * On a developer's machine without those packages an oracle suite skips; under CI=true a missing
 * oracle is a failure, never a silent skip.
 */
import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';

export const PYTHON = process.env.MEDTRAIN_PYTHON ?? 'python3';

const cache = new Map<string, string | null>();

/** null when every module imports; otherwise why not. */
export function pythonMissing(modules: string[]): string | null {
  const key = modules.join(',');
  if (cache.has(key)) return cache.get(key)!;
  const r = spawnSync(PYTHON, ['-c', modules.map((m) => `import ${m}`).join('; ')], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  const why = r.error ? `${PYTHON} not found` : r.status === 0 ? null : (r.stderr.trim().split('\n').pop() ?? 'import failed');
  cache.set(key, why);
  return why;
}

/**
 * `describe` for a suite that needs Python modules. Skips when they are missing, unless CI=true,
 * where the suite runs and fails loudly.
 */
export function describeOracle(name: string, modules: string[], fn: () => void): void {
  const why = pythonMissing(modules);
  if (why && process.env.CI !== 'true') {
    describe.skip(`${name} (skipped: ${why}; install test/oracle/requirements.txt)`, fn);
    return;
  }
  describe(name, () => {
    if (why) throw new Error(`oracle suite '${name}' needs Python modules ${modules.join(', ')}: ${why}. Under CI=true a skipped oracle is a failure; install test/oracle/requirements.txt.`);
    fn();
  });
}

/**
 * Run a Python script (source text) with JSON on stdin and parse the JSON it prints on its last
 * stdout line. Throws with Python's stderr on failure.
 */
export function runPython<T = unknown>(source: string, input: unknown = null, opts: { timeoutMs?: number; cwd?: string } = {}): T {
  const r = spawnSync(PYTHON, ['-c', source], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    timeout: opts.timeoutMs ?? 600_000,
    cwd: opts.cwd,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', PYTHONHASHSEED: '0', CUDA_VISIBLE_DEVICES: '' },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python exited ${r.status}:\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}
