/**
 * `npm run bench -- native-tf [flags]`: training throughput (images per second) of DenseNet121 at
 * 128 px, batch 8, on the native TensorFlow engine (tfjs-node built by `npm run setup:tensorflow`)
 * and on WASM, beside PyTorch (torchvision's DenseNet121 via /usr/bin/python3) and optionally Keras
 * (keras.applications.DenseNet121 via python3) on the same machine in the same run, with ratios.
 * Each engine and each peer runs in its own process, built and warmed up one after the other; the
 * measured steps are then taken in rounds, each contender a few steps in turn, so that all of them
 * see the same spells of load on a shared machine. An engine that cannot train reports why.
 * Prints one JSON object.
 */
import * as tf from '@tensorflow/tfjs';
import { createInterface } from 'node:readline';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, resolveEngineRequest, shutdownBackend } from '../src/backend/index.js';
import { numberFlag, parseCli, runMain, usage } from '../src/util/cli.js';
import { createModel } from '../src/models/classifier.js';
import { Trainer, type Callback } from 'medtrain';
import { Contender, listFlag, median } from './_shared.js';
import { Rng } from '../src/util/rng.js';

const here = dirname(fileURLToPath(import.meta.url));

const FLAGS = {
  engines: { type: 'string', value: 'LIST', default: 'tensorflow,wasm', help: 'medtrain engines to measure, comma-separated' },
  peers: { type: 'string', value: 'LIST', default: 'pytorch', help: 'peers to measure: pytorch, keras (comma-separated), or none' },
  model: { type: 'string', value: 'M', default: 'densenet121', help: 'densenet121 or small-cnn' },
  size: { type: 'string', value: 'PX', default: '128', help: 'input size (square)' },
  batch: { type: 'string', value: 'N', default: '8', help: 'batch size' },
  steps: { type: 'string', value: 'N', default: '2', help: 'measured training steps per contender and round (the median step gives img/s)' },
  rounds: { type: 'string', value: 'N', default: '3', help: 'rounds; each gives every contender --steps steps in turn' },
  threads: { type: 'string', value: 'N', help: 'CPU threads for TensorFlow and PyTorch (default: all cores; WASM uses one)' },
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
  /**
   * Images per second of the process's CPU time (all its threads; median step). With --threads 1
   * this is single-core throughput, nearly independent of other load on the machine.
   */
  imgPerCpuSecond?: number;
  stepSeconds?: number[];
  error?: string;
  [k: string]: unknown;
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

/**
 * The worker side of the protocol every contender speaks: build, train `warmup` steps, print one
 * JSON line `{ready: true, ...}`; then for each line N on stdin train N steps and print
 * `{stepSeconds: [...]}`; exit at the end of stdin.
 */
async function engineWorker(engine: string, cfg: Config): Promise<void> {
  const info = await initBackend(engine, { quiet: true });
  // DenseNet121 as medtrain builds it (Keras's layers), with the peers' head: global average pooling and one Dense.
  const model = cfg.model === 'small-cnn' ? smallCnn(cfg.size, cfg.classes) : (await createModel('DenseNet121', { numClasses: cfg.classes, inputSize: cfg.size, headUnits: 0, seed: 0 })).model;
  const optimizer = tf.train.adam(1e-4);
  const rng = new Rng(0);
  const x = tf.tensor4d(Float32Array.from({ length: cfg.batch * cfg.size * cfg.size * 3 }, () => rng.next()), [cfg.batch, cfg.size, cfg.size, 3]);
  const y = tf.tensor2d(Float32Array.from({ length: cfg.batch * cfg.classes }, () => (rng.next() < 0.3 ? 1 : 0)), [cfg.batch, cfg.classes]);
  // medtrain's own training loop; the timer spans each whole step (forward, gradients, Adam update, loss read back).
  const times: number[] = [];
  const cpu: number[] = [];
  let t0 = 0;
  let c0 = process.cpuUsage();
  const timer: Callback = {
    name: 'bench-timer',
    onBatchBegin: () => {
      t0 = performance.now();
      c0 = process.cpuUsage();
    },
    onBatchEnd: () => {
      times.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e6);
    },
  };
  const trainer = new Trainer({ model, optimizer, loss: (yt, yp) => tf.mean(tf.metrics.binaryCrossentropy(yt, yp)) as tf.Scalar, callbacks: [timer] });
  let epochs = 0;
  const steps = async (n: number) => {
    times.length = 0;
    cpu.length = 0;
    // The Trainer disposes every batch it is given: hand it copies of the one batch.
    const batches = function* () {
      for (let i = 0; i < n; i++) yield { x: x.clone(), y: y.clone() };
    };
    if (n > 0) await trainer.fit({ epochs: ++epochs, train: batches });
    return { stepSeconds: [...times], cpuSeconds: [...cpu] };
  };
  try {
    await steps(cfg.warmup);
    const binding = info.engine === 'tensorflow' ? (tf.backend() as unknown as { binding?: { TF_Version?: string } }).binding : undefined;
    const meta = { engine: info.engine, device: info.device, ...(info.package && { package: info.package }), ...(binding?.TF_Version && { libtensorflow: binding.TF_Version }), params: model.countParams() };
    process.stdout.write(`${JSON.stringify({ ready: true, ...meta })}\n`);
    for await (const line of createInterface({ input: process.stdin })) {
      process.stdout.write(`${JSON.stringify(await steps(Number(line)))}\n`);
    }
  } finally {
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  }
}

/** A contender that trains a given number of steps per request and keeps every step's times. */
class StepContender extends Contender {
  readonly result: Measurement = {};
  readonly stepSeconds: number[] = [];
  readonly cpuSeconds: number[] = [];

  async steps(n: number): Promise<void> {
    const r = await this.request(String(n));
    this.stepSeconds.push(...(r.stepSeconds as number[]));
    this.cpuSeconds.push(...(r.cpuSeconds as number[]));
  }
}

const PEERS: Record<string, { python: string; script: string }> = {
  pytorch: { python: '/usr/bin/python3', script: 'train_step_torch.py' },
  keras: { python: process.env.MEDTRAIN_PYTHON ?? 'python3', script: 'train_step_keras.py' },
};

runMain(async () => {
  const { flags } = parseCli('bench -- native-tf', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('bench -- native-tf', 'Training img/s of DenseNet121 on the native TensorFlow engine and WASM beside PyTorch (and Keras).', FLAGS));
    return;
  }
  const cfg: Config = {
    model: listFlag('model', flags.model!, ['densenet121', 'small-cnn'])[0]!,
    size: numberFlag('size', flags.size, { integer: true, min: 32 })!,
    batch: numberFlag('batch', flags.batch, { integer: true, min: 1 })!,
    steps: numberFlag('steps', flags.steps, { integer: true, min: 1 })!,
    warmup: numberFlag('warmup', flags.warmup, { integer: true, min: 0 })!,
    classes: numberFlag('classes', flags.classes, { integer: true, min: 1 })!,
  };
  if (flags.worker) {
    try {
      await engineWorker(flags.worker, cfg);
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ error: String((e as Error)?.message ?? e).split('\n')[0] })}\n`);
    }
    shutdownBackend();
    return;
  }
  const engines = listFlag('engines', flags.engines!, ['tensorflow', 'webgpu', 'wasm', 'cpu']).map((e) => resolveEngineRequest(e));
  const peers = listFlag('peers', flags.peers!, Object.keys(PEERS));
  const rounds = numberFlag('rounds', flags.rounds, { integer: true, min: 1 })!;
  const cfgArgs = Object.entries(cfg).flatMap(([k, v]) => [`--${k}`, String(v)]);
  const threads = numberFlag('threads', flags.threads, { integer: true, min: 1 });
  const peerCfg = JSON.stringify({ size: cfg.size, batch: cfg.batch, warmup: cfg.warmup, classes: cfg.classes, threads: threads ?? null });
  // TensorFlow (tfjs-node and Keras) reads its thread counts from these; PyTorch gets `threads` in its config.
  const threadEnv = threads ? { TF_NUM_INTRAOP_THREADS: String(threads), TF_NUM_INTEROP_THREADS: '1' } : {};

  // Start (build and warm up) one contender at a time, so that they never compete for the cores.
  const ready: StepContender[] = [];
  const results: Record<string, Measurement> = {};
  const starts: [string, string, string[]][] = [
    ...engines.map((e): [string, string, string[]] => [e, process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', e, ...cfgArgs]]),
    ...peers.map((p): [string, string, string[]] => [p, PEERS[p]!.python, [join(here, 'peers', PEERS[p]!.script), peerCfg]]),
  ];
  for (const [name, cmd, args] of starts) {
    if (peers.includes(name) && cfg.model !== 'densenet121') {
      results[name] = { error: 'peers run DenseNet121 only' };
      continue;
    }
    const c = StepContender.start(name, cmd, args, threadEnv);
    results[name] = c.result;
    try {
      const hello = await c.read();
      if (hello.error) throw new Error(String(hello.error));
      const { ready: _ready, ...meta } = hello;
      Object.assign(c.result, meta);
      ready.push(c);
    } catch (e) {
      c.result.error = (e as Error).message;
      c.close();
    }
  }
  // Interleave: every round gives each contender `steps` steps, so all see the same spells of load
  // from whatever else runs on the machine.
  for (let r = 0; r < rounds; r++) {
    for (const c of ready) {
      try {
        await c.steps(cfg.steps);
      } catch (e) {
        c.result.error = (e as Error).message;
        ready.splice(ready.indexOf(c), 1);
      }
    }
  }
  for (const c of ready) {
    c.close();
    Object.assign(c.result, {
      stepSeconds: c.stepSeconds,
      cpuSeconds: c.cpuSeconds,
      imgPerSec: cfg.batch / median(c.stepSeconds),
      bestImgPerSec: cfg.batch / Math.min(...c.stepSeconds),
      imgPerCpuSecond: cfg.batch / median(c.cpuSeconds),
    });
  }
  const ratios: Record<string, number> = {};
  const bestRatios: Record<string, number> = {};
  const cpuRatios: Record<string, number> = {};
  for (const a of engines) {
    for (const b of [...engines, ...peers]) {
      if (a === b || !results[a]?.imgPerSec || !results[b]?.imgPerSec) continue;
      ratios[`${a}/${b}`] = results[a].imgPerSec! / results[b].imgPerSec!;
      bestRatios[`${a}/${b}`] = results[a].bestImgPerSec! / results[b].bestImgPerSec!;
      cpuRatios[`${a}/${b}`] = results[a].imgPerCpuSecond! / results[b].imgPerCpuSecond!;
    }
  }
  const medtrain = Object.fromEntries(engines.map((e) => [e, results[e]!]));
  const peer = Object.fromEntries(peers.map((p) => [p, results[p]!]));
  process.stdout.write(
    `${JSON.stringify({
      bench: 'native-tf',
      ...cfg,
      rounds,
      threads: threads ?? 'all cores (WASM: one)',
      modelSource: cfg.model === 'densenet121' ? "medtrain's createModel('DenseNet121', {headUnits: 0}): Keras's layers, global average pooling, Dense(classes, sigmoid)" : 'bench small CNN',
      training: "medtrain's Trainer (variableGrads, then Adam 1e-4), binary cross-entropy on sigmoid outputs; peers: the same loss and optimizer",
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadavg: loadavg().map((l) => Math.round(l * 100) / 100) },
      medtrain,
      peers: peer,
      ratios,
      bestRatios,
      cpuRatios,
    })}\n`,
  );
});
