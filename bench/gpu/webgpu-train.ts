/**
 * WebGPU training throughput on whatever adapter Dawn finds (a real GPU on the accelerator machine):
 * the small CNN of `npm run doctor` and DenseNet121 (medtrain's Keras-identical builder, with the
 * PyTorch peer's head: GAP, Dense(14, sigmoid)), whole train steps (forward, BCE, backward, Adam,
 * loss read back), synthetic data. Prints one JSON object.
 *
 * usage: tsx bench/gpu/webgpu-train.ts '{"seconds":10,"densenet":[{"size":224,"batch":16}]}'
 * On the accelerator machine it runs as a bundle: see bench/gpu/README.md.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../../src/backend/engines.js';
import { measureSmallCnnThroughput } from '../../src/backend/small-cnn.js';
import { createModel } from '../../src/models/classifier.js';
import { Rng } from '../../src/util/rng.js';

interface Cfg {
  seconds?: number;
  small?: { size: number; batch: number }[];
  densenet?: { size: number; batch: number }[];
}

async function timeTrain(model: tf.LayersModel, size: number, batch: number, classes: number, seconds: number) {
  const rng = new Rng('gpu-bench');
  const xs = new Float32Array(batch * size * size * 3).map(() => rng.next() * 2 - 1);
  const ys = new Float32Array(batch * classes).map(() => (rng.bernoulli(0.3) ? 1 : 0));
  const x = tf.tensor4d(xs, [batch, size, size, 3]);
  const y = tf.tensor2d(ys, [batch, classes]);
  model.compile({ optimizer: tf.train.adam(1e-4), loss: 'binaryCrossentropy' });
  let loss = NaN;
  const step = async () => {
    loss = (await model.trainOnBatch(x, y)) as number;
  };
  const tw = performance.now();
  for (let i = 0; i < 3; i++) await step();
  const warmupSeconds = (performance.now() - tw) / 1000;
  let steps = 0;
  const t0 = performance.now();
  while (steps < 5 || performance.now() - t0 < seconds * 1000) {
    await step();
    steps++;
  }
  const s = (performance.now() - t0) / 1000;
  x.dispose();
  y.dispose();
  model.optimizer?.dispose();
  return { imgPerSec: (steps * batch) / s, steps, seconds: s, warmupSeconds, lastLoss: loss, size, batch };
}

async function main() {
  const cfg: Cfg = JSON.parse(process.argv[2] ?? '{}');
  const seconds = cfg.seconds ?? 10;
  const info = await initBackend(process.env.MEDTRAIN_ENGINE ?? 'webgpu', { quiet: true });
  const out: Record<string, unknown> = { engine: info.engine, device: info.device, gpu: info.gpu, small: [], densenet121: [] };
  for (const c of cfg.small ?? [{ size: 64, batch: 8 }, { size: 64, batch: 64 }]) {
    const r = await measureSmallCnnThroughput({ size: c.size, batch: c.batch, seconds, warmup: 3, maxSteps: 100000 });
    (out.small as unknown[]).push(r);
    process.stderr.write(`small ${JSON.stringify(r)}\n`);
  }
  for (const c of cfg.densenet ?? [{ size: 128, batch: 8 }, { size: 224, batch: 8 }, { size: 224, batch: 32 }]) {
    // The peer's head: global average pooling, then Dense(14, sigmoid).
    const clf = await createModel('DenseNet121', { numClasses: 14, inputSize: c.size, headUnits: 0 });
    const r = await timeTrain(clf.model, c.size, c.batch, 14, seconds);
    (out.densenet121 as unknown[]).push(r);
    process.stderr.write(`densenet121 ${JSON.stringify(r)}\n`);
    clf.model.dispose();
  }
  out.numTensors = tf.memory().numTensors;
  process.stdout.write(`${JSON.stringify(out)}\n`);
  shutdownBackend();
  process.exit(0);
}

await main();
