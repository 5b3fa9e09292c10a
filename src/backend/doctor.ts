/**
 * `medtrain doctor`: what this machine has. Every engine, present or absent and why, its device or
 * adapter, whether that is a real GPU, and the measured training throughput of the small CNN
 * (src/backend/small-cnn.ts) on each present engine, plus the engine `auto` picks.
 */
import * as tf from '@tensorflow/tfjs';
import { ENGINES, initBackend, pickAuto, probeEngine, shutdownBackend, type EngineName, type EngineProbe } from './engines.js';
import { measureSmallCnnThroughput, SMALL_CNN, type ThroughputOptions } from './small-cnn.js';
import { cudaLibraries, type CudaLibraries } from './cuda.js';
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';

const log = createLogger('doctor');

export interface DoctorEngine {
  name: EngineName;
  present: boolean;
  device: string | null;
  gpu: boolean;
  /** Training images per second of the small CNN; null when absent, not measured or training failed. */
  trainImgPerSec: number | null;
  /** Why the engine is absent, or null. */
  reason: string | null;
  /** How to install an absent engine. */
  install: string | null;
  /** npm package providing the engine (tensorflow: tfjs-node-gpu or tfjs-node). */
  package?: string;
  /** How the figure was measured (batch, timed steps, warm-up steps, seconds, input size). */
  measured?: { batch: number; steps: number; warmup: number; seconds: number; size: number };
  /** Why a present engine could not train the small CNN (a missing kernel, a device error). */
  trainError?: string;
  /** For the GPU build of the native engine: the CUDA libraries it can load and those it misses. */
  cuda?: CudaLibraries;
}

export interface DoctorReport {
  engines: DoctorEngine[];
  /** The engine `--engine auto` starts here. */
  auto: EngineName;
  /** The network measured. */
  network: string;
}

export interface DoctorOptions {
  /** Engines whose throughput to measure (default: every present one; [] measures none), or a list as the --measure flag gives it ('wasm,cpu', 'all', 'none'). */
  measure?: readonly EngineName[] | string;
  /** Time to aim for in each engine's timed phase, seconds (default 2). */
  seconds?: number;
  /** Input side of the small CNN (default 64; smaller only for quick checks). */
  size?: number;
  /** One batch size for every engine (default: 8, but 1 on the plain JS engine, to keep the doctor short). */
  batch?: number;
}

/**
 * How long to measure each engine. Warm-up covers shader compilation (WebGPU) and first-call
 * allocation. The plain JS engine takes seconds per image (its Conv2DBackpropFilter is a scalar
 * loop), so it times a single one-image step without warm-up; its time per image does not depend
 * on the batch.
 */
export function measurePlan(engine: EngineName, seconds = 2): ThroughputOptions {
  if (engine === 'cpu') return { batch: 1, warmup: 0, minSteps: 1, maxSteps: 1, seconds: 0 };
  if (engine === 'webgpu') return { batch: SMALL_CNN.batch, warmup: 1, minSteps: 2, maxSteps: 20, seconds };
  return { batch: SMALL_CNN.batch, warmup: 2, minSteps: 3, maxSteps: 200, seconds };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300);
}

/**
 * Probe every engine and measure the small CNN's train-step throughput on the present ones.
 * Leaves no engine started (webgpu's device is released).
 */
export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const probes: EngineProbe[] = [];
  for (const name of ENGINES) probes.push(await probeEngine(name));
  const cuda = cudaLibraries();
  const engines: DoctorEngine[] = probes.map((p) => ({
    name: p.name,
    present: p.present,
    device: p.device,
    gpu: p.gpu,
    trainImgPerSec: null,
    reason: p.reason,
    install: p.present ? null : p.install,
    ...(p.package && { package: p.package }),
    ...(p.name === 'tensorflow' && cuda && { cuda }),
  }));
  const toMeasure = new Set(typeof opts.measure === 'string' ? parseEngineList(opts.measure) : (opts.measure ?? ENGINES));
  // WebGPU last: releasing Dawn's device ends that engine for this process.
  const order = [...engines].sort((a, b) => Number(a.name === 'webgpu') - Number(b.name === 'webgpu'));
  for (const e of order) {
    if (!e.present || !toMeasure.has(e.name)) continue;
    const plan = { ...measurePlan(e.name, opts.seconds), ...(opts.size && { size: opts.size }), ...(opts.batch && { batch: opts.batch }) };
    try {
      await initBackend(e.name, { quiet: true });
      const before = tf.memory().numTensors;
      const r = await measureSmallCnnThroughput(plan);
      const leaked = tf.memory().numTensors - before;
      if (leaked !== 0) log.warn(`${e.name}: the throughput run left ${leaked} tensors`);
      e.trainImgPerSec = round(r.imgPerSec);
      e.measured = { batch: r.batch, steps: r.steps, warmup: r.warmup, seconds: round(r.seconds), size: r.size };
      log.debug(`${e.name}: ${e.trainImgPerSec} img/s`);
    } catch (err) {
      e.trainError = firstLine(err);
      log.warn(`${e.name} is present but could not train the small CNN: ${e.trainError}`);
    }
  }
  shutdownBackend();
  const auto = pickAuto(probes).name;
  const [f1, f2, f3] = SMALL_CNN.filters;
  return {
    engines,
    auto,
    network: `small CNN: 3×3 conv ${f1}-${f2}-${f3} with 2×2 max pooling, flatten, dense ${SMALL_CNN.classes} sigmoid; BCE; Adam; input ${opts.size ?? SMALL_CNN.size}×${opts.size ?? SMALL_CNN.size}×${SMALL_CNN.channels}`,
  };
}

function round(x: number): number {
  return x >= 100 ? Math.round(x) : x >= 1 ? Math.round(x * 10) / 10 : Math.round(x * 1000) / 1000;
}

/** The report as a readable table. */
export function formatDoctor(r: DoctorReport): string {
  const rows = [['engine', 'present', 'device', 'GPU', 'train img/s', 'note']];
  for (const e of r.engines) {
    const note = !e.present
      ? (e.reason ?? '')
      : e.trainError
        ? `cannot train: ${e.trainError}`
        : e.measured
          ? `batch ${e.measured.batch}, ${e.measured.steps} step${e.measured.steps === 1 ? '' : 's'} after ${e.measured.warmup} warm-up`
          : 'not measured';
    rows.push([e.name, e.present ? 'yes' : 'no', e.device ?? '-', e.present ? (e.gpu ? 'yes' : 'no') : '-', e.trainImgPerSec === null ? '-' : String(e.trainImgPerSec), note]);
  }
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((row) => row[j]!.length)));
  const lines = rows.map((row) => row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]!))).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  ').slice(0, lines[0]!.length));
  const out = [...lines, '', `auto picks: ${r.auto}`, `measured: ${r.network}`];
  const cuda = r.engines.find((e) => e.cuda)?.cuda;
  if (cuda) {
    out.push('', `CUDA libraries for tfjs-node-gpu: ${Object.keys(cuda.found).length ? `found ${Object.keys(cuda.found).join(', ')}` : 'none found'}${cuda.missing.length ? `; missing ${cuda.missing.join(', ')} (pip install 'tensorflow[and-cuda]', then medtrain setup tensorflow --gpu)` : ''}`);
  }
  const absent = r.engines.filter((e) => !e.present && e.install);
  if (absent.length) out.push('', 'to install:', ...absent.map((e) => `  ${e.name}: ${e.install}`));
  return `${out.join('\n')}\n`;
}

/** Parse an engine list flag ('wasm,cpu', 'all' or 'none'). */
export function parseEngineList(value: string, flag = '--measure'): EngineName[] {
  const v = value.trim().toLowerCase();
  if (v === 'all') return [...ENGINES];
  if (v === 'none' || v === '') return [];
  const names = v.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(ENGINES as readonly string[]).includes(n)) {
      throw new MedtrainError(`unknown engine '${n}'`, { code: 'bad-flag', column: flag, value, hint: `use a comma-separated list of ${ENGINES.join(', ')}, or all / none` });
    }
  }
  return names as EngineName[];
}
