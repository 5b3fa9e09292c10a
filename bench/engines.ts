/**
 * `npm run bench -- engines [--measure LIST] [--seconds S]`: train img/s of the small CNN
 * (src/backend/small-cnn.ts) on every present engine, beside the same network in PyTorch
 * (bench/peers/small_cnn_torch.py, Debian's torch under /usr/bin/python3) on this machine, in
 * this run. Prints one JSON object.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEngineList, runDoctor, measurePlan } from '../src/backend/doctor.js';
import { SMALL_CNN } from '../src/backend/small-cnn.js';
import { numberFlag, parseCli, runMain } from '../src/util/cli.js';

const PEER = join(dirname(fileURLToPath(import.meta.url)), 'peers', 'small_cnn_torch.py');
const TORCH_PYTHON = process.env.MEDTRAIN_TORCH_PYTHON ?? '/usr/bin/python3';

const FLAGS = {
  measure: { type: 'string', value: 'LIST', help: 'engines to time, comma-separated, or all', default: 'all' },
  seconds: { type: 'string', value: 'S', help: 'time to spend on each engine\'s (and PyTorch\'s) timed steps', default: '5' },
} as const;

interface TorchResult {
  trainImgPerSec: number;
  steps: number;
  warmup: number;
  threads: number;
  torch: string;
}

function runTorch(seconds: number, threads: number): TorchResult | { error: string } {
  const cfg = { size: SMALL_CNN.size, batch: SMALL_CNN.batch, classes: SMALL_CNN.classes, channels: SMALL_CNN.channels, filters: SMALL_CNN.filters, learningRate: SMALL_CNN.learningRate, seconds, warmup: 3, threads };
  const r = spawnSync(TORCH_PYTHON, [PEER, JSON.stringify(cfg)], { encoding: 'utf8', timeout: 600_000 });
  if (r.error || r.status !== 0) return { error: (r.error?.message ?? r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`).slice(0, 300) };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as TorchResult;
}

runMain(async () => {
  const { flags } = parseCli('bench -- engines', FLAGS, process.argv.slice(2));
  const seconds = numberFlag('seconds', flags.seconds, { min: 0.1, max: 600 }) ?? 5;
  const threads = os.availableParallelism();
  const torch = runTorch(seconds, threads);
  // One thread too: multi-threaded PyTorch collapses when other processes load the cores, and
  // tfjs-wasm in Node runs on one thread; this figure shows both effects.
  const torch1 = threads > 1 ? runTorch(seconds, 1) : torch;
  const report = await runDoctor({ measure: parseEngineList(flags.measure ?? 'all'), seconds, batch: SMALL_CNN.batch });
  const ref = 'error' in torch ? null : torch.trainImgPerSec;
  const round = (x: number) => Math.round(x * 1000) / 1000;
  const out = {
    bench: 'engines',
    machine: { cpu: os.cpus()[0]?.model?.trim() ?? 'unknown', cores: threads, platform: `${os.platform()} ${os.arch()}`, node: process.version },
    howMeasured: {
      network: report.network,
      batch: SMALL_CNN.batch,
      size: SMALL_CNN.size,
      classes: SMALL_CNN.classes,
      optimizer: `Adam lr ${SMALL_CNN.learningRate}`,
      step: 'wall time of whole train steps: forward, loss, backward, optimizer update, loss read back to the host; one fixed random batch',
      warmup: Object.fromEntries(report.engines.map((e) => [e.name, measurePlan(e.name).warmup])),
      secondsPerEngine: seconds,
      steps: Object.fromEntries(report.engines.filter((e) => e.measured).map((e) => [e.name, e.measured!.steps])),
      pytorch: { python: TORCH_PYTHON, threads, warmup: 3, layout: 'NCHW (its native layout)', ratios: 'engine img/s over PyTorch img/s with one thread per core' },
      note: 'plain JS (cpu) takes one step of the batch without warm-up: it needs seconds per image',
    },
    pytorch: 'error' in torch ? { trainImgPerSec: null, error: torch.error } : { trainImgPerSec: round(torch.trainImgPerSec), version: torch.torch, threads: torch.threads, steps: torch.steps },
    pytorchOneThread: 'error' in torch1 ? { trainImgPerSec: null, error: torch1.error } : { trainImgPerSec: round(torch1.trainImgPerSec), threads: 1, steps: torch1.steps },
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    engines: report.engines.map((e) => ({
      name: e.name,
      present: e.present,
      device: e.device,
      gpu: e.gpu,
      trainImgPerSec: e.trainImgPerSec,
      ratioToPytorch: e.trainImgPerSec !== null && ref ? round(e.trainImgPerSec / ref) : null,
      ...(e.measured && { measured: e.measured }),
      ...(e.reason && { reason: e.reason }),
      ...(e.trainError && { trainError: e.trainError }),
    })),
    auto: report.auto,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
});
