/**
 * `npm run bench -- wasm-kernels [flags]`: speed of the WASM engine's training kernels.
 *
 * For realistic layers (DenseNet-like 1x1 and 3x3 convolutions at 56 and 28 px, a ResNet stride-2
 * 3x3, a 7x7 stride-2 stem, MobileNetV2 / EfficientNet depthwise 3x3 and 5x5 at strides 1 and 2;
 * batch 8): GFLOP/s of the forward convolution, of medtrain's input and filter gradients, and of
 * the stock Conv2DBackpropInput they replace; then the training images per second of the small CNN
 * (src/backend/small-cnn.ts: three 3x3 conv layers, 64 px, batch 8), also with the stock
 * Conv2DBackpropInput swapped back in.
 * PyTorch does the same on the same machine with as many threads (bench/peers/wasm_kernels_torch.py,
 * run by /usr/bin/python3 or MEDTRAIN_TORCH_PYTHON).
 * Every thread count runs in its own process (the engine's thread pool is fixed when it starts).
 * Prints one JSON object.
 *
 * FLOPs of a layer (all three kernels): 2 * output pixels * filter taps * input channels * output
 * channels (depthwise: * multiplier). Times are medians over repeated calls.
 */
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/backend/index.js';
import { MAX_WASM_THREADS, wasmThreads, wasmThreadsRequest } from '../src/backend/wasm.js';
import { stockWasmKernel } from '../src/backend/wasm-kernels/index.js';
import { SMALL_CNN, measureSmallCnnThroughput } from '../src/backend/small-cnn.js';
import { numberFlag, parseCli, runMain } from '../src/util/cli.js';
import { MedtrainError } from '../src/util/errors.js';
import { Rng } from '../src/util/rng.js';

const here = dirname(fileURLToPath(import.meta.url));

const FLAGS = {
  threads: { type: 'string', value: 'LIST', help: `WASM thread counts to measure, comma-separated (default: MEDTRAIN_WASM_THREADS, else auto = cores, at most ${MAX_WASM_THREADS})` },
  peers: { type: 'string', value: 'LIST', default: 'pytorch', help: 'peers to measure: pytorch, or none' },
  seconds: { type: 'string', value: 'S', default: '1', help: 'time budget per measured kernel (the median call counts)' },
  layers: { type: 'string', value: 'LIST', help: 'only these layers (names as printed), comma-separated' },
  'skip-stock': { type: 'boolean', help: 'do not time the stock Conv2DBackpropInput (slow)' },
  'skip-cnn': { type: 'boolean', help: 'do not time the small CNN' },
  worker: { type: 'boolean', help: '(internal) measure the engine of this process' },
} as const;

type Pad = 'same' | 'valid';

interface Layer {
  name: string;
  kind: 'conv' | 'depthwise';
  /** NHWC */
  input: [number, number, number, number];
  /** [fh, fw, C, O] or, depthwise, [fh, fw, C, multiplier] */
  filter: [number, number, number, number];
  strides: number;
  pad: Pad;
  /** Whether to time the stock Conv2DBackpropInput too. */
  stock: boolean;
}

const B = 8;
const LAYERS: Layer[] = [
  { name: 'densenet-56px-1x1-128to128', kind: 'conv', input: [B, 56, 56, 128], filter: [1, 1, 128, 128], strides: 1, pad: 'same', stock: true },
  { name: 'densenet-56px-3x3-128to32', kind: 'conv', input: [B, 56, 56, 128], filter: [3, 3, 128, 32], strides: 1, pad: 'same', stock: true },
  { name: 'densenet-28px-1x1-256to128', kind: 'conv', input: [B, 28, 28, 256], filter: [1, 1, 256, 128], strides: 1, pad: 'same', stock: true },
  { name: 'densenet-28px-3x3-128to32', kind: 'conv', input: [B, 28, 28, 128], filter: [3, 3, 128, 32], strides: 1, pad: 'same', stock: true },
  { name: 'resnet-56px-3x3s2-128to128', kind: 'conv', input: [B, 56, 56, 128], filter: [3, 3, 128, 128], strides: 2, pad: 'same', stock: true },
  { name: 'stem-224px-7x7s2-3to64', kind: 'conv', input: [B, 224, 224, 3], filter: [7, 7, 3, 64], strides: 2, pad: 'same', stock: false },
  { name: 'mobilenet-56px-dw3x3-144', kind: 'depthwise', input: [B, 56, 56, 144], filter: [3, 3, 144, 1], strides: 1, pad: 'same', stock: false },
  { name: 'mobilenet-56px-dw3x3s2-144', kind: 'depthwise', input: [B, 56, 56, 144], filter: [3, 3, 144, 1], strides: 2, pad: 'same', stock: false },
  { name: 'efficientnet-28px-dw5x5-240', kind: 'depthwise', input: [B, 28, 28, 240], filter: [5, 5, 240, 1], strides: 1, pad: 'same', stock: false },
  { name: 'efficientnet-28px-dw5x5s2-240', kind: 'depthwise', input: [B, 28, 28, 240], filter: [5, 5, 240, 1], strides: 2, pad: 'same', stock: false },
];

interface KernelFigures {
  forward: number;
  backpropInput: number;
  backpropFilter: number;
  stockBackpropInput?: number;
}

/** Median seconds of `fn` over repeated calls within `budget` seconds (at least 3 calls, or 1 when a call exceeds the budget). */
function medianSeconds(fn: () => void, budget: number): number {
  const t0 = performance.now();
  fn();
  const first = (performance.now() - t0) / 1000;
  if (first > budget) return first;
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || ((performance.now() - start) / 1000 < budget && times.length < 50)) {
    const t = performance.now();
    fn();
    times.push((performance.now() - t) / 1000);
  }
  return times.sort((a, b) => a - b)[times.length >> 1]!;
}

function layerFlops(l: Layer): number {
  const info = tf.backend_util.computeConv2DInfo(l.input, l.filter, l.strides, 1, l.pad, undefined, l.kind === 'depthwise');
  return 2 * info.batchSize * info.outHeight * info.outWidth * l.filter[0] * l.filter[1] * l.filter[2] * l.filter[3];
}

function measureLayer(l: Layer, budget: number, stock: boolean, rng: Rng): KernelFigures {
  const depthwise = l.kind === 'depthwise';
  const info = tf.backend_util.computeConv2DInfo(l.input, l.filter, l.strides, 1, l.pad, undefined, depthwise);
  const rand = (shape: number[]) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()), shape);
  const x = rand(l.input);
  const w = rand(l.filter);
  const dy = rand(info.outShape);
  const flops = layerFlops(l);
  const base = { strides: l.strides, pad: l.pad, dilations: 1, dataFormat: 'NHWC' };
  const run = (kernel: string, inputs: tf.NamedTensorMap, attrs: object) => () => {
    (tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dispose();
  };
  const gflops = (fn: () => void) => flops / medianSeconds(fn, budget) / 1e9;
  const out: KernelFigures = {
    forward: gflops(run(depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', { x, filter: w }, base)),
    backpropInput: gflops(run(depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput', { dy, filter: w }, { ...base, inputShape: l.input })),
    backpropFilter: gflops(run(depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter', { x, dy }, { ...base, filterShape: l.filter })),
  };
  if (stock && l.stock && !depthwise) {
    const kernel = stockWasmKernel('Conv2DBackpropInput')!;
    const backend = tf.backend();
    out.stockBackpropInput = gflops(() => {
      const r = kernel.kernelFunc({ inputs: { dy, filter: w }, backend, attrs: { ...base, inputShape: l.input } as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
      backend.disposeData(r.dataId);
    });
  }
  tf.dispose([x, w, dy]);
  return out;
}

/** Run `fn` with the stock Conv2DBackpropInput registered in place of medtrain's. */
async function withStockBackpropInput<T>(fn: () => Promise<T>): Promise<T> {
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel(stockWasmKernel('Conv2DBackpropInput')!);
  try {
    return await fn();
  } finally {
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel(ours);
  }
}

interface WorkerArgs {
  seconds: number;
  layers: string[];
  stock: boolean;
  cnn: boolean;
}

/** Measure the engine of this process (its thread count comes from MEDTRAIN_WASM_THREADS). */
async function worker(a: WorkerArgs): Promise<object> {
  const t0 = performance.now();
  const info = await initBackend('wasm', { quiet: true });
  const startSeconds = (performance.now() - t0) / 1000;
  const rng = new Rng('bench-wasm-kernels');
  const layers = LAYERS.filter((l) => a.layers.includes(l.name)).map((l) => {
    const gflops = measureLayer(l, a.seconds, a.stock, rng);
    return {
      name: l.name,
      kind: l.kind,
      input: l.input,
      filter: l.filter,
      strides: l.strides,
      pad: l.pad,
      gflopPerCall: layerFlops(l) / 1e9,
      gflops,
      ratioToForward: {
        backpropInput: gflops.backpropInput / gflops.forward,
        backpropFilter: gflops.backpropFilter / gflops.forward,
        ...(gflops.stockBackpropInput !== undefined && { stockBackpropInput: gflops.stockBackpropInput / gflops.forward }),
      },
    };
  });
  const cnnSeconds = Math.max(3, 3 * a.seconds);
  const imgPerSec = async () => (await measureSmallCnnThroughput({ seconds: cnnSeconds })).imgPerSec;
  const cnn = a.cnn
    ? {
        imgPerSec: await imgPerSec(),
        ...(a.stock && { imgPerSecWithStockBackpropInput: await withStockBackpropInput(imgPerSec) }),
      }
    : null;
  return { threads: wasmThreads(), device: info.device, startSeconds, layers, smallCnn: cnn };
}

function runJson(cmd: string, args: string[], env: Record<string, string> = {}): { value?: any; error?: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env } });
  if (r.error) return { error: `${cmd}: ${r.error.message}` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    if (r.status !== 0) throw new Error(`exit ${r.status}`);
    return { value: JSON.parse(line) };
  } catch (e) {
    return { error: `${(e as Error).message}: ${(r.stderr || line).trim().split('\n').slice(-3).join(' | ')}` };
  }
}

const TORCH_PYTHON = process.env.MEDTRAIN_TORCH_PYTHON ?? '/usr/bin/python3';

/** PyTorch's figures for the same layers and the same small CNN (bench/peers/small_cnn_torch.py), on `threads` threads. */
function pytorch(threads: number, seconds: number, layers: Layer[], cnn: boolean): { value?: any; error?: string } {
  const kernels = runJson(TORCH_PYTHON, [join(here, 'peers', 'wasm_kernels_torch.py'), JSON.stringify({ threads, seconds, layers })]);
  if (!kernels.value || !cnn) return kernels;
  const { size, batch, classes, channels, filters, learningRate } = SMALL_CNN;
  const small = runJson(TORCH_PYTHON, [join(here, 'peers', 'small_cnn_torch.py'), JSON.stringify({ size, batch, classes, channels, filters, learningRate, threads, seconds: Math.max(3, 3 * seconds) })]);
  return { value: { ...kernels.value, smallCnn: small.value ? { imgPerSec: small.value.trainImgPerSec } : { error: small.error } } };
}

runMain(async () => {
  const { flags } = parseCli('bench -- wasm-kernels', FLAGS, process.argv.slice(2));
  const seconds = numberFlag('seconds', flags.seconds, { min: 0.01 })!;
  const names = flags.layers ? flags.layers.split(',').map((s) => s.trim()) : LAYERS.map((l) => l.name);
  const unknown = names.filter((n) => !LAYERS.some((l) => l.name === n));
  if (unknown.length) throw new MedtrainError('unknown layer', { code: 'bad-flag', column: '--layers', value: unknown.join(','), hint: `layers: ${LAYERS.map((l) => l.name).join(', ')}` });
  const args: WorkerArgs = { seconds, layers: names, stock: !flags['skip-stock'], cnn: !flags['skip-cnn'] };
  if (flags.worker) {
    process.stdout.write(`${JSON.stringify(await worker(args))}\n`);
    return;
  }
  const threads = (flags.threads ?? String(wasmThreadsRequest())).split(',').map((t) => wasmThreadsRequest(t.trim()));
  const peers = (flags.peers ?? 'pytorch').split(',').map((s) => s.trim()).filter((s) => s && s !== 'none');
  const bad = peers.filter((p) => p !== 'pytorch');
  if (bad.length) throw new MedtrainError('unknown peer', { code: 'bad-flag', column: '--peers', value: bad.join(','), hint: 'use pytorch or none' });
  const loadBefore = os.loadavg();
  const selfArgs = [...process.execArgv, process.argv[1]!, '--worker', '--seconds', String(seconds), '--layers', names.join(','), ...(args.stock ? [] : ['--skip-stock']), ...(args.cnn ? [] : ['--skip-cnn'])];
  const runs = threads.map((t) => {
    const wasm = runJson(process.execPath, selfArgs, { MEDTRAIN_WASM_THREADS: String(t) });
    const peer = peers.includes('pytorch') ? pytorch(t, seconds, LAYERS.filter((l) => names.includes(l.name)), args.cnn) : null;
    const w = wasm.value;
    const p = peer?.value;
    const ratios =
      w && p
        ? {
            layers: Object.fromEntries(
              (w.layers as any[]).map((l, i) => [
                l.name,
                {
                  forward: l.gflops.forward / p.layers[i].forward,
                  backpropInput: l.gflops.backpropInput / p.layers[i].backpropInput,
                  backpropFilter: l.gflops.backpropFilter / p.layers[i].backpropFilter,
                },
              ]),
            ),
            ...(w.smallCnn && p.smallCnn && { smallCnnImgPerSec: w.smallCnn.imgPerSec / p.smallCnn.imgPerSec }),
          }
        : null;
    return { threads: t, wasm: w ?? { error: wasm.error }, ...(peer && { pytorch: p ?? { error: peer.error } }), medtrainOverPytorch: ratios };
  });
  const out = {
    bench: 'wasm-kernels',
    machine: { cpu: os.cpus()[0]?.model?.trim() ?? 'unknown', cores: os.availableParallelism?.() ?? os.cpus().length, loadavgBefore: loadBefore, loadavgAfter: os.loadavg() },
    batch: B,
    runs,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
});
