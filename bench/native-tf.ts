/**
 * `npm run bench -- native-tf [flags]`: training throughput (images per second) of DenseNet121 at
 * 128 px, batch 8, on the native TensorFlow engine (tfjs-node built by `npm run setup:tensorflow`)
 * and on WASM, beside PyTorch (torchvision's DenseNet121 via /usr/bin/python3) and optionally Keras
 * (keras.applications.DenseNet121 via python3) on the same machine in the same run, with ratios.
 * Each engine and each peer runs in its own process; an engine that cannot train reports why.
 * Prints one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, resolveEngineRequest, shutdownBackend } from '../src/backend/index.js';
import { numberFlag, parseCli, runMain, usage } from '../src/util/cli.js';
import { MedtrainError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const here = dirname(fileURLToPath(import.meta.url));

const FLAGS = {
  engines: { type: 'string', value: 'LIST', default: 'tensorflow,wasm', help: 'medtrain engines to measure, comma-separated' },
  peers: { type: 'string', value: 'LIST', default: 'pytorch', help: 'peers to measure: pytorch, keras (comma-separated), or none' },
  model: { type: 'string', value: 'M', default: 'densenet121', help: 'densenet121 or small-cnn' },
  size: { type: 'string', value: 'PX', default: '128', help: 'input size (square)' },
  batch: { type: 'string', value: 'N', default: '8', help: 'batch size' },
  steps: { type: 'string', value: 'N', default: '5', help: 'measured training steps (the median step gives img/s)' },
  warmup: { type: 'string', value: 'N', default: '2', help: 'unmeasured steps first' },
  classes: { type: 'string', value: 'N', default: '14', help: 'sigmoid outputs' },
  worker: { type: 'string', value: 'ENGINE', help: '(internal) measure one engine in this process' },
} as const;

interface Config {
  model: string;
  size: number;
  batch: number;
  steps: number;
  warmup: number;
  classes: number;
}

interface Measurement {
  /** From the median step. */
  imgPerSec?: number;
  /** From the fastest step: steadier than the median on a shared, busy machine. */
  bestImgPerSec?: number;
  stepSeconds?: number[];
  error?: string;
  [k: string]: unknown;
}

const EPS = 1.001e-5;

/**
 * DenseNet121 built here with tf.layers, layer for layer as keras.applications.densenet builds it
 * (same topology and parameter count): the benchmark's stand-in until medtrain's model registry
 * provides it.
 */
function denseNet121(size: number, classes: number): tf.LayersModel {
  const bnRelu = (x: tf.SymbolicTensor) => tf.layers.activation({ activation: 'relu' }).apply(tf.layers.batchNormalization({ epsilon: EPS }).apply(x)) as tf.SymbolicTensor;
  const conv = (x: tf.SymbolicTensor, filters: number, kernelSize: number, strides = 1, padding: 'same' | 'valid' = 'valid') =>
    tf.layers.conv2d({ filters, kernelSize, strides, padding, useBias: false }).apply(x) as tf.SymbolicTensor;
  const input = tf.input({ shape: [size, size, 3] });
  let x = tf.layers.zeroPadding2d({ padding: 3 }).apply(input) as tf.SymbolicTensor;
  x = bnRelu(conv(x, 64, 7, 2));
  x = tf.layers.zeroPadding2d({ padding: 1 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x) as tf.SymbolicTensor;
  [6, 12, 24, 16].forEach((blocks, i) => {
    for (let b = 0; b < blocks; b++) {
      const y = conv(bnRelu(conv(bnRelu(x), 128, 1)), 32, 3, 1, 'same');
      x = tf.layers.concatenate({ axis: -1 }).apply([x, y]) as tf.SymbolicTensor;
    }
    if (i < 3) {
      x = conv(bnRelu(x), Math.trunc(x.shape[3]! * 0.5), 1);
      x = tf.layers.averagePooling2d({ poolSize: 2, strides: 2 }).apply(x) as tf.SymbolicTensor;
    }
  });
  x = tf.layers.globalAveragePooling2d({}).apply(bnRelu(x)) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: classes, activation: 'sigmoid' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'densenet121' });
}

function smallCnn(size: number, classes: number): tf.LayersModel {
  const m = tf.sequential();
  m.add(tf.layers.conv2d({ inputShape: [size, size, 3], filters: 16, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: classes, activation: 'sigmoid' }));
  return m;
}

/** Train `steps` + `warmup` steps on one engine in this process and time each. */
async function measureEngine(engine: string, cfg: Config): Promise<Measurement> {
  const info = await initBackend(engine, { quiet: true });
  const model = cfg.model === 'small-cnn' ? smallCnn(cfg.size, cfg.classes) : denseNet121(cfg.size, cfg.classes);
  const optimizer = tf.train.adam(1e-4);
  model.compile({ optimizer, loss: 'binaryCrossentropy' });
  const rng = new Rng(0);
  const x = tf.tensor4d(Float32Array.from({ length: cfg.batch * cfg.size * cfg.size * 3 }, () => rng.next()), [cfg.batch, cfg.size, cfg.size, 3]);
  const y = tf.tensor2d(Float32Array.from({ length: cfg.batch * cfg.classes }, () => (rng.next() < 0.3 ? 1 : 0)), [cfg.batch, cfg.classes]);
  const stepSeconds: number[] = [];
  const params = model.countParams();
  try {
    for (let step = 0; step < cfg.warmup + cfg.steps; step++) {
      const t0 = performance.now();
      await model.trainOnBatch(x, y); // resolves after the loss is read back, i.e. the step is done
      if (step >= cfg.warmup) stepSeconds.push((performance.now() - t0) / 1000);
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
  const binding = info.engine === 'tensorflow' ? (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding : undefined;
  return {
    engine: info.engine,
    device: info.device,
    ...(info.package && { package: info.package }),
    ...(binding?.TF_Version && { libtensorflow: binding.TF_Version }),
    params,
    stepSeconds,
    imgPerSec: cfg.batch / median(stepSeconds),
    bestImgPerSec: cfg.batch / Math.min(...stepSeconds),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function lastJsonLine(stdout: string): Measurement | null {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Measurement;
  } catch {
    return null;
  }
}

/** Run a measurement in a child process; its failure becomes `{ error }`, never a dead harness. */
function child(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Measurement {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', ...env } });
  const out = lastJsonLine(r.stdout ?? '');
  if (r.status === 0 && out) return out;
  const why = r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`);
  return { error: `${why}: ${`${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ')}`.slice(0, 600) };
}

const PEERS: Record<string, { python: string; script: string }> = {
  pytorch: { python: '/usr/bin/python3', script: 'train_step_torch.py' },
  keras: { python: process.env.MEDTRAIN_PYTHON ?? 'python3', script: 'train_step_keras.py' },
};

function list(flag: string, value: string, known: readonly string[]): string[] {
  const items = value === 'none' ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((i) => !known.includes(i));
  if (bad) throw new MedtrainError(`unknown name in --${flag}`, { code: 'bad-flag', column: `--${flag}`, value: bad, hint: `use ${known.join(', ')}` });
  return items;
}

runMain(async () => {
  const { flags } = parseCli('bench -- native-tf', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('bench -- native-tf', 'Training img/s of DenseNet121 on the native TensorFlow engine and WASM beside PyTorch (and Keras).', FLAGS));
    return;
  }
  const cfg: Config = {
    model: list('model', flags.model!, ['densenet121', 'small-cnn'])[0]!,
    size: numberFlag('size', flags.size, { integer: true, min: 32 })!,
    batch: numberFlag('batch', flags.batch, { integer: true, min: 1 })!,
    steps: numberFlag('steps', flags.steps, { integer: true, min: 1 })!,
    warmup: numberFlag('warmup', flags.warmup, { integer: true, min: 0 })!,
    classes: numberFlag('classes', flags.classes, { integer: true, min: 1 })!,
  };
  if (flags.worker) {
    const m = await measureEngine(flags.worker, cfg).catch((e: unknown): Measurement => ({ error: String((e as Error)?.message ?? e).split('\n')[0] }));
    shutdownBackend();
    process.stdout.write(`${JSON.stringify(m)}\n`);
    return;
  }
  const engines = list('engines', flags.engines!, ['tensorflow', 'webgpu', 'wasm', 'cpu']).map((e) => resolveEngineRequest(e));
  const peers = list('peers', flags.peers!, Object.keys(PEERS));
  const cfgArgs = Object.entries(cfg).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const medtrain: Record<string, Measurement> = {};
  for (const e of engines) medtrain[e] = child(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', e, ...cfgArgs]);
  const peer: Record<string, Measurement> = {};
  const peerCfg = JSON.stringify({ size: cfg.size, batch: cfg.batch, steps: cfg.steps, warmup: cfg.warmup, classes: cfg.classes });
  for (const p of peers) {
    if (cfg.model !== 'densenet121') peer[p] = { error: 'peers run DenseNet121 only' };
    else peer[p] = child(PEERS[p]!.python, [join(here, 'peers', PEERS[p]!.script), peerCfg]);
  }
  const all: Record<string, Measurement> = { ...medtrain, ...peer };
  const ratios: Record<string, number> = {};
  const bestRatios: Record<string, number> = {};
  for (const a of engines) {
    for (const b of [...engines, ...peers]) {
      if (a === b || !all[a]?.imgPerSec || !all[b]?.imgPerSec) continue;
      ratios[`${a}/${b}`] = all[a].imgPerSec! / all[b].imgPerSec!;
      bestRatios[`${a}/${b}`] = all[a].bestImgPerSec! / all[b].bestImgPerSec!;
    }
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'native-tf',
      ...cfg,
      modelSource: cfg.model === 'densenet121' ? 'bench stand-in: DenseNet121 built with tf.layers as keras.applications builds it' : 'bench small CNN',
      optimizer: 'adam 1e-4, binary cross-entropy, sigmoid outputs',
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) },
      medtrain,
      peers: peer,
      ratios,
      bestRatios,
    })}\n`,
  );
});
