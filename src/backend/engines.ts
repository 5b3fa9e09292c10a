/**
 * The engine layer: find which TFJS engines this machine has, start the one asked for (or the
 * fastest present one), and say what was chosen. Library code never assumes an engine.
 *
 * Engines, fastest first for `auto` (measured figures in the README's engine table):
 *   tensorflow on a CUDA GPU  >  webgpu on a real GPU  >  tensorflow on the CPU  >  wasm
 *   >  webgpu on a software adapter  >  cpu (plain JS).
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { importWebGpuBackend, probeWebGpuAdapter, webGpuName, releaseWebGpu } from './webgpu.js';
import { initWasm } from './wasm.js';
import { installNativeReluGrad } from './tf-native.js';
import { gpuDevicePresent, withNativeOutputMuted, withNativeOutputMutedAsync } from './quiet.js';

const log = createLogger('engine');
const require = createRequire(import.meta.url);

export const ENGINES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type EngineName = (typeof ENGINES)[number];
export type EngineRequest = EngineName | 'auto';

export interface EngineProbe {
  name: EngineName;
  present: boolean;
  /** Device or adapter name, e.g. 'NVIDIA H100 80GB HBM3', 'llvmpipe (LLVM 19.1.7, 256 bits)', 'CPU (x86_64, 2 cores, SIMD)'. */
  device: string | null;
  /** True only for a real GPU (a software WebGPU adapter is not one). */
  gpu: boolean;
  /** Why the engine is absent, or null. */
  reason: string | null;
  /** How to install it when absent. */
  install: string | null;
  /** Which npm package provides it (tensorflow: tfjs-node-gpu or tfjs-node). */
  package?: string;
}

export interface EngineInfo {
  engine: EngineName;
  device: string;
  gpu: boolean;
  /** What tfjs reports as its backend name (tensorflow, webgpu, wasm, cpu). */
  backend: string;
  package?: string;
}

const INSTALL: Record<EngineName, string> = {
  tensorflow:
    '`medtrain setup tensorflow` builds it in this project against the TensorFlow wheel from PyPI (`--gpu`: tfjs-node-gpu against the CUDA wheel); ' +
    'where storage.googleapis.com is reachable, `npm install @tensorflow/tfjs-node` works too (its libtensorflow 2.9.1)',
  webgpu:
    '`medtrain setup webgpu` installs Dawn (the `webgpu` package); it needs a Vulkan driver: a GPU driver, or without a GPU Mesa lavapipe ' +
    '(Debian 12: `apt-get install -t bookworm-backports mesa-vulkan-drivers`)',
  wasm: 'WebAssembly: @tensorflow/tfjs-backend-wasm, a dependency of medtrain (reinstall it)',
  cpu: 'plain JS: part of @tensorflow/tfjs (reinstall it)',
};

let current: EngineInfo | null = null;
let tensorflowPackage: string | null = null;

/** The engine in use, or null before initBackend. */
export function currentEngine(): EngineInfo | null {
  return current;
}

/** The engine name from (in order) the argument, MEDTRAIN_ENGINE, or 'auto'. Validated. */
export function resolveEngineRequest(name?: string | null): EngineRequest {
  const raw = (name ?? process.env.MEDTRAIN_ENGINE ?? 'auto').trim().toLowerCase();
  const v = raw === 'tfjs-node' || raw === 'tfjs-node-gpu' || raw === 'node' ? 'tensorflow' : raw;
  if (v === 'auto' || (ENGINES as readonly string[]).includes(v)) return v as EngineRequest;
  throw new MedtrainError('unknown engine', {
    code: 'unknown-engine',
    value: name ?? process.env.MEDTRAIN_ENGINE,
    hint: `use one of auto, ${ENGINES.join(', ')} (flag --engine or MEDTRAIN_ENGINE)`,
  });
}

function cpuName(): string {
  const model = os.cpus()[0]?.model?.trim() ?? 'CPU';
  return `${model} (${os.availableParallelism?.() ?? os.cpus().length} cores)`;
}

/**
 * Load tfjs-node-gpu (preferred when it loads) or tfjs-node. Loading registers the 'tensorflow'
 * backend. Only one of the two is ever loaded in a process.
 */
async function loadTensorflow(): Promise<{ pkg: string; gpu: boolean; device: string } | { error: string }> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const errors: string[] = [];
  const candidates = tensorflowPackage ? [tensorflowPackage] : ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
  for (const pkg of candidates) {
    try {
      require.resolve(pkg);
    } catch {
      errors.push(`${pkg} is not installed`);
      continue;
    }
    try {
      // libtensorflow logs through absl as it loads, whatever TF_CPP_MIN_LOG_LEVEL says (see quiet.ts).
      withNativeOutputMuted(() => require(pkg));
      tensorflowPackage = pkg;
      installNativeReluGrad();
      const prev = tf.getBackend();
      await withNativeOutputMutedAsync(() => tf.setBackend('tensorflow'));
      const be = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
      const gpu = Boolean(be.isUsingGpuDevice);
      if (prev && prev !== 'tensorflow') await tf.setBackend(prev);
      return { pkg, gpu, device: gpu ? 'CUDA GPU' : cpuName() };
    } catch (e) {
      errors.push(`${pkg} did not load: ${firstLine(e)}`);
    }
  }
  return { error: errors.join('; ') };
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!.slice(0, 300);
}

/** Probe one engine without leaving it active. */
export async function probeEngine(name: EngineName): Promise<EngineProbe> {
  const base = { name, install: INSTALL[name] };
  try {
    switch (name) {
      case 'cpu':
        return { ...base, present: true, device: cpuName(), gpu: false, reason: null, install: null };
      case 'wasm': {
        const { simd } = await initWasm({ activate: false });
        return { ...base, present: true, device: `${cpuName()}${simd ? ', SIMD' : ''}`, gpu: false, reason: null, install: null };
      }
      case 'webgpu': {
        const info = await withNativeOutputMutedAsync(probeWebGpuAdapter);
        if (!info) return { ...base, present: false, device: null, gpu: false, reason: 'Dawn found no WebGPU adapter (no Vulkan driver?)' };
        return { ...base, present: true, device: `${webGpuName(info)}${info.software ? ' (software adapter)' : ''}`, gpu: !info.software, reason: null, install: null };
      }
      case 'tensorflow': {
        const r = await loadTensorflow();
        if ('error' in r) return { ...base, present: false, device: null, gpu: false, reason: r.error };
        return { ...base, present: true, device: r.device, gpu: r.gpu, reason: null, install: null, package: r.pkg };
      }
    }
  } catch (e) {
    return { ...base, present: false, device: null, gpu: false, reason: firstLine(e) };
  }
}

export async function probeEngines(): Promise<EngineProbe[]> {
  const out: EngineProbe[] = [];
  for (const e of ENGINES) out.push(await probeEngine(e));
  return out;
}

/** Rank used by `auto`: lower is faster. See the README's engine table for the measurements. */
export function autoRank(p: EngineProbe): number {
  if (!p.present) return Infinity;
  switch (p.name) {
    case 'tensorflow':
      return p.gpu ? 0 : 2;
    case 'webgpu':
      return p.gpu ? 1 : 4;
    case 'wasm':
      return 3;
    case 'cpu':
      return 5;
  }
}

export function pickAuto(probes: EngineProbe[]): EngineProbe {
  const best = [...probes].sort((a, b) => autoRank(a) - autoRank(b))[0];
  if (!best || !best.present) throw new MedtrainError('no TFJS engine is present', { code: 'no-engine', hint: 'reinstall with `npm ci`' });
  return best;
}

/**
 * Start an engine: 'auto' (default; or MEDTRAIN_ENGINE) picks the fastest present one. Returns and
 * logs the engine, its device and whether that is a real GPU. Asking for an absent engine is an
 * error listing what is present and how to install the missing one.
 */
export async function initBackend(name?: string | null, opts: { quiet?: boolean } = {}): Promise<EngineInfo> {
  const req = resolveEngineRequest(name);
  tf.enableProdMode();
  let probe: EngineProbe;
  if (req === 'auto') {
    // tensorflow and webgpu decide the top of the order; without a GPU device WebGPU can only be a
    // software adapter, which ranks below WASM: it is not started at all then.
    const webgpu: EngineProbe = gpuDevicePresent() ? await probeEngine('webgpu') : { name: 'webgpu', present: false, device: null, gpu: false, reason: 'no GPU device on this machine', install: INSTALL.webgpu };
    const probes = [await probeEngine('tensorflow'), webgpu, await probeEngine('wasm'), await probeEngine('cpu')];
    probe = pickAuto(probes);
  } else {
    probe = await probeEngine(req);
    if (!probe.present) {
      const present = (await Promise.all(ENGINES.filter((e) => e !== req).map(probeEngine))).filter((p) => p.present).map((p) => p.name);
      throw new MedtrainError(`engine '${req}' is not present: ${probe.reason}`, {
        code: 'engine-absent',
        value: req,
        hint: `present here: ${present.join(', ') || 'none'}. To install ${req}: ${INSTALL[req]}`,
      });
    }
  }
  switch (probe.name) {
    case 'webgpu':
      await importWebGpuBackend();
      break;
    case 'wasm':
      await initWasm({ activate: true });
      break;
    default:
      break;
  }
  if (probe.name !== 'wasm') {
    const ok = await tf.setBackend(probe.name);
    if (!ok) throw new MedtrainError(`engine '${probe.name}' failed to start`, { code: 'engine-failed', hint: 'run `medtrain doctor` to see what is present' });
  }
  await tf.ready();
  current = { engine: probe.name, device: probe.device ?? 'unknown', gpu: probe.gpu, backend: tf.getBackend(), ...(probe.package && { package: probe.package }) };
  if (!opts.quiet) log.info(`engine ${current.engine} on ${current.device}${current.gpu ? ' (GPU)' : ''}${req === 'auto' ? ' [auto]' : ''}`);
  return current;
}

/** Release engine resources so Node can exit (Dawn keeps the process alive otherwise). */
export function shutdownBackend(): void {
  if (current?.engine === 'webgpu') {
    try {
      tf.engine().reset();
    } catch {
      // the backend may already be gone
    }
    releaseWebGpu();
  }
  current = null;
}
