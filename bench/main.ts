/**
 * `npm run bench -- main [--benchmark NAME]`: the README's main command, as a newcomer runs it
 * (`npm run train -- --benchmark chexpert_CWBCE_E3_B32`: the cached phantom set, made when missing,
 * and the quick start on the fastest engine here), timed from the shell. Prints one JSON object:
 * the wall time in all, the run's summary (val and test figures, best epoch, engine) and the machine.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, runMain } from '../src/util/cli.js';

const FLAGS = {
  benchmark: { type: 'string', value: 'NAME', help: 'the benchmark (default: the README main command, chexpert_CWBCE_E3_B32)' },
} as const;

runMain(async () => {
  const { flags } = parseCli('bench -- main', FLAGS, process.argv.slice(2));
  const benchmark = flags.benchmark ?? 'chexpert_CWBCE_E3_B32';
  const out = mkdtempSync(join(tmpdir(), 'medtrain-bench-main-'));
  const load = loadavg()[0]!;
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '-s', 'train', '--', '--benchmark', benchmark, '--out', join(out, 'run'), '--experiment-log', 'none', '--json'], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'warn' } });
  const seconds = (performance.now() - t0) / 1000;
  rmSync(out, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`the main command failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
  delete summary.run;
  process.stdout.write(`${JSON.stringify({ harness: 'main', command: `npm run train -- --benchmark ${benchmark}`, seconds, summary, machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_average_1m: load } })}\n`);
});
