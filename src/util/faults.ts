/**
 * Crash points for the fault-injection tests: with `MEDTRAIN_FAULT=<point>[#n]` in the environment,
 * the process kills itself with SIGKILL (as a crash, an OOM kill or a power cut would stop it) the
 * n-th time (default the first) it reaches that point. Unset, a point costs one comparison.
 *
 * Points: `before:<file>` and `after:<file>` around every atomic file write and log append (the
 * file's base name), `fill:<folder>` inside a folder's atomic write before it is renamed into place,
 * `after:<folder>` after that rename, `checkpoint-model:<folder>` between a checkpoint's model and
 * its optimizer state, and `step:<n>` after the n-th optimizer step of a run.
 */

const spec = /^([^#]+)(?:#(\d+))?$/.exec(process.env.MEDTRAIN_FAULT ?? '');
const target = spec ? spec[1]! : null;
let remaining = spec ? Number(spec[2] ?? 1) : 0;

/** Kill this process here when MEDTRAIN_FAULT names this point (see the top of this file). */
export function faultPoint(name: string): void {
  if (target === null || name !== target) return;
  if (--remaining === 0) process.kill(process.pid, 'SIGKILL');
}
