/**
 * `npm run bench -- models [flags]`: forward and training-step throughput (img/s) of medtrain's
 * classifiers (backbone + the default head: GAP → Dense(1024, relu) → Dense(14)) at 224 and 128 px,
 * batch 8, per architecture and per engine, beside the same architecture in PyTorch
 * (bench/peers/models_torch.py, /usr/bin/python3) and Keras (bench/peers/models_keras.py, python3)
 * on the same machine in the same run. Ratios are medtrain / peer (above 1: medtrain is faster).
 *
 * Protocol, the same in all three: random input, one warm-up iteration, then iterations until
 * --seconds have passed (at least one); img/s from the median iteration. A training step is forward +
 * sigmoid cross-entropy from logits + backward + Adam(1e-4).
 *
 * Engines: every present engine except the slow ones (plain JS 'cpu', WebGPU on a software adapter),
 * which are listed as skipped unless --engines names them. Each case runs in a child process of its own.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, probeEngines, shutdownBackend, type EngineName, type EngineProbe } from '../src/backend/index.js';
import { createModel } from '../src/models/classifier.js';
import { getModelSpec, modelNames } from '../src/models/registry.js';
import { MedtrainError } from '../src/util/errors.js';
import { numberFlag, parseCli, runMain, usage } from '../src/util/cli.js';

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULT_MODELS = ['DenseNet121', 'ResNet50V2', 'ResNet50', 'InceptionV3', 'InceptionResNetV2', 'Xception', 'MobileNetV2', 'EfficientNetB0'];
const CLASSES = 14;

const FLAGS = {
  models: { type: 'string', value: 'LIST', help: `comma-separated models, or 'all' (default: ${DEFAULT_MODELS.join(',')})` },
  sizes: { type: 'string', value: 'LIST', default: '224,128', help: 'input sizes in pixels' },
  batch: { type: 'string', value: 'N', default: '8', help: 'batch size' },
  modes: { type: 'string', value: 'LIST', default: 'forward,train', help: 'forward and/or train' },
  engines: { type: 'string', value: 'LIST', help: "engines to measure, or 'all' (default: the present fast ones)" },
  peers: { type: 'string', value: 'LIST', default: 'torch,keras', help: "peers to run: torch, keras, or 'none'" },
  seconds: { type: 'string', value: 'S', default: '5', help: 'time each case for about this long after its warm-up' },
  one: { type: 'string', value: 'JSON', help: '(internal) measure one case in this process and print its timing' },
} as const;

type Mode = 'forward' | 'train';
interface Case {
  model: string;
  size: number;
  mode: Mode;
}
interface Timing {
  imgPerSec: number | null;
  msPerBatch?: number;
  iterations?: number;
  model?: string;
  note?: string;
  error?: string;
}
interface PeerRun {
  framework?: string;
  version?: string;
  threads?: number;
  results?: Timing[];
  error?: string;
}

function list(v: string | undefined, name: string): string[] {
  const items = (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new MedtrainError(`--${name} is empty`, { code: 'bad-flag', column: `--${name}` });
  return items;
}

/** Time `step` as the peers do: one warm-up, then until `seconds` have passed (at least once); median. */
async function timed(step: () => Promise<void>, seconds: number): Promise<{ median: number; iterations: number }> {
  await step();
  const times: number[] = [];
  const start = performance.now();
  while (!times.length || performance.now() - start < seconds * 1000) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  return { median: times.length % 2 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2, iterations: times.length };
}

async function measure(c: Case, batch: number, seconds: number): Promise<Timing> {
  const clf = await createModel(c.model, { numClasses: CLASSES, inputSize: c.size, activation: 'linear', seed: 0 });
  const x = tf.randomNormal([batch, c.size, c.size, 3], 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([batch, CLASSES], 0, 1, 'float32', 2), 0.5), 'float32'));
  const opt = tf.train.adam(1e-4);
  try {
    const step =
      c.mode === 'forward'
        ? async () => {
            const out = clf.model.predict(x) as tf.Tensor;
            await out.data();
            out.dispose();
          }
        : async () => {
            const loss = opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, clf.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true, clf.trainableVariables());
            await loss!.data();
            loss!.dispose();
          };
    const { median, iterations } = await timed(step, seconds);
    return { imgPerSec: (batch * 1000) / median, msPerBatch: median, iterations };
  } finally {
    tf.dispose([x, y]);
    opt.dispose();
    clf.dispose();
  }
}

/**
 * Measure one case in a child process: a fresh engine and heap per case, so a case that exhausts the
 * engine's memory (the WASM heap is at most 4 GiB) or crashes it is reported and the others still run.
 */
function measureInChild(engine: EngineName, c: Case, batch: number, seconds: number): Timing {
  const r = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--one', JSON.stringify({ engine, ...c, batch, seconds })], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'error' },
  });
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Timing;
  } catch {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').filter(Boolean).pop();
    return { imgPerSec: null, error: `the case crashed (${why ?? `exit ${r.status}`})` };
  }
}

function runPeer(python: string, script: string, cases: Case[], batch: number, seconds: number): PeerRun {
  const r = spawnSync(python, [join(here, 'peers', script)], {
    input: JSON.stringify({ cases, batch, classes: CLASSES, seconds }),
    encoding: 'utf8',
    maxBuffer: 1 << 26,
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', CUDA_VISIBLE_DEVICES: '' },
  });
  if (r.error) return { error: `${python} did not run: ${r.error.message}` };
  if (r.status !== 0) return { error: `${script} exited ${r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` };
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerRun;
  } catch {
    return { error: `${script} printed no JSON` };
  }
}

const ratio = (a: number | null | undefined, b: number | null | undefined) => (a && b ? Math.round((a / b) * 1000) / 1000 : null);

runMain(async () => {
  const { flags } = parseCli('bench -- models', FLAGS, process.argv.slice(2));
  if (flags.one) {
    const job = JSON.parse(flags.one) as Case & { engine: EngineName; batch: number; seconds: number };
    await initBackend(job.engine, { quiet: true });
    let timing: Timing;
    try {
      timing = await measure(job, job.batch, job.seconds);
    } catch (e) {
      timing = { imgPerSec: null, error: String((e as Error).message ?? e).split('\n')[0] };
    }
    shutdownBackend();
    process.stdout.write(`${JSON.stringify(timing)}\n`);
    return;
  }
  if (flags.help) {
    process.stdout.write(usage('bench -- models', 'Forward and training-step img/s per model and engine, beside PyTorch and Keras.', FLAGS));
    return;
  }
  const models = flags.models === 'all' ? modelNames() : flags.models ? list(flags.models, 'models').map((m) => getModelSpec(m).name) : DEFAULT_MODELS;
  const sizes = list(flags.sizes, 'sizes').map((s) => numberFlag('sizes', s, { integer: true, min: 32 })!);
  const batch = numberFlag('batch', flags.batch, { integer: true, min: 1 })!;
  const seconds = numberFlag('seconds', flags.seconds, { min: 0 })!;
  const modes = list(flags.modes, 'modes').map((m) => {
    if (m !== 'forward' && m !== 'train') throw new MedtrainError('unknown mode', { code: 'bad-flag', column: '--modes', value: m, hint: 'use forward and/or train' });
    return m as Mode;
  });
  const peers = flags.peers === 'none' ? [] : list(flags.peers, 'peers');
  const cases: Case[] = [];
  for (const model of models) {
    const spec = getModelSpec(model);
    for (const size of sizes) if (size >= spec.minInputSize) for (const mode of modes) cases.push({ model, size, mode });
  }

  const probes = await probeEngines();
  const slow = (p: EngineProbe) => p.name === 'cpu' || (p.name === 'webgpu' && !p.gpu);
  const named = (e: string) => {
    const p = probes.find((q) => q.name === e);
    if (!p) throw new MedtrainError('unknown engine', { code: 'bad-flag', column: '--engines', value: e, hint: `use ${probes.map((q) => q.name).join(', ')} or all` });
    return p;
  };
  const wanted = flags.engines === 'all' ? probes : flags.engines ? list(flags.engines, 'engines').map(named) : probes.filter((p) => !slow(p));
  const engines = wanted.filter((p) => p.present);
  const skipped = probes
    .filter((p) => !engines.includes(p))
    .map((p) => ({ engine: p.name, reason: p.present ? `slow here (${p.device}); include it with --engines ${p.name}` : `absent: ${p.reason}` }));

  const results: Record<string, unknown>[] = [];
  const engineInfo: Record<string, unknown>[] = [];
  for (const probe of engines) {
    const info = await initBackend(probe.name as EngineName, { quiet: true });
    const threads = probe.name === 'wasm' ? ((await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) ? 'multi' : 1) : null;
    engineInfo.push({ ...info, ...(threads !== null && { threads }) });
    shutdownBackend();
    for (const c of cases) {
      process.stderr.write(`[bench] ${probe.name} ${c.model} ${c.size}px ${c.mode}\n`);
      results.push({ ...c, engine: probe.name, ...measureInChild(probe.name, c, batch, seconds) });
    }
  }

  const peerRuns: Record<string, PeerRun> = {};
  if (peers.includes('torch')) peerRuns['torch'] = runPeer('/usr/bin/python3', 'models_torch.py', cases, batch, seconds);
  if (peers.includes('keras')) peerRuns['keras'] = runPeer(process.env.MEDTRAIN_PYTHON ?? 'python3', 'models_keras.py', cases, batch, seconds);
  for (const r of results) {
    const i = cases.findIndex((c) => c.model === r['model'] && c.size === r['size'] && c.mode === r['mode']);
    for (const [peer, run] of Object.entries(peerRuns)) {
      const t = run.results?.[i];
      r[peer] = t ?? { imgPerSec: null, error: run.error };
      r[`ratio_${peer}`] = ratio(r['imgPerSec'] as number | null, t?.imgPerSec);
    }
  }

  process.stdout.write(
    `${JSON.stringify({
      bench: 'models',
      machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.availableParallelism(), node: process.version, tfjs: tf.version.tfjs },
      batch,
      classes: CLASSES,
      sizes,
      seconds,
      engines: engineInfo,
      skippedEngines: skipped,
      peers: Object.fromEntries(Object.entries(peerRuns).map(([k, v]) => [k, { framework: v.framework, version: v.version, threads: v.threads, ...(v.error && { error: v.error }) }])),
      results,
    })}\n`,
  );
});
