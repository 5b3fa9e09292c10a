/**
 * The WASM training kernels against the CPU engine's numbers: every kernel over strides, paddings,
 * kernel sizes, batch and channel counts (relative max difference <= 1e-4, relative to the largest
 * reference magnitude), and the gradients tf.grads takes through them.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, shutdownBackend } from '../../src/backend/index.js';
import { stockWasmKernel } from '../../src/backend/wasm-kernels/index.js';
import { Rng } from '../../src/util/rng.js';

const TOL = 1e-4;
const rng = new Rng('wasm-kernels');

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
type Input = [Float32Array, number[]];

function rand(shape: number[]): Input {
  const a = new Float32Array(shape.reduce((p, q) => p * q, 1));
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return [a, shape];
}

/** Run one kernel on an engine; returns its values and shape. */
async function runKernel(engine: 'cpu' | 'wasm', kernel: string, inputs: Record<string, Input>, attrs: object): Promise<{ v: Float32Array; shape: number[] }> {
  await tf.setBackend(engine);
  const ins: Record<string, tf.Tensor> = {};
  for (const [k, [d, s]] of Object.entries(inputs)) ins[k] = tf.tensor(d, s);
  const out = tf.engine().runKernel(kernel, ins as unknown as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  const v = out.dataSync() as Float32Array;
  const shape = out.shape;
  tf.dispose([out, ...Object.values(ins)]);
  return { v, shape };
}

/** max |a - b| / max |b| */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    r = Math.max(r, Math.abs(b[i]!));
  }
  return d / (r || 1);
}

interface Case {
  k: [number, number];
  s: [number, number];
  pad: Pad;
  n: number;
  c: number;
  /** output channels (conv) or channel multiplier (depthwise) */
  o: number;
}

const H = 9;
const W = 8;
const KERNELS: [number, number][] = [
  [1, 1],
  [3, 3],
  [7, 7],
  [2, 3],
];
const STRIDES: [number, number][] = [
  [1, 1],
  [2, 2],
  [3, 3],
  [1, 2],
];
const PADS: Pad[] = [
  'same',
  'valid',
  [
    [0, 0],
    [1, 2],
    [2, 0],
    [0, 0],
  ],
  [
    [0, 0],
    [4, 0],
    [0, 5],
    [0, 0],
  ],
];
const SIZES = [
  { n: 1, c: 1, o: 1 },
  { n: 2, c: 3, o: 4 },
  // enough channels for the filter gradient's one-product-per-tap path
  { n: 1, c: 64, o: 3 },
];

function cases(multipliers: number[] | null): Case[] {
  const out: Case[] = [];
  for (const k of KERNELS)
    for (const s of STRIDES)
      for (const pad of PADS)
        for (const { n, c, o } of SIZES)
          for (const oo of multipliers ?? [o]) {
            const info = tf.backend_util.computeConv2DInfo([n, H, W, c], [k[0], k[1], c, oo], s, 1, pad, undefined, multipliers !== null);
            if (info.outHeight > 0 && info.outWidth > 0) out.push({ k, s, pad, n, c, o: oo });
          }
  return out;
}

/** Compare a gradient kernel on wasm with cpu over the matrix; returns the failures. */
async function compareKernel(kernel: string, depthwise: boolean, wrt: 'input' | 'filter', list: Case[]): Promise<string[]> {
  const failures: string[] = [];
  for (const cs of list) {
    const { k, s, pad, n, c, o } = cs;
    const xShape = [n, H, W, c];
    const wShape = [k[0], k[1], c, o];
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], wShape as [number, number, number, number], s, 1, pad, undefined, depthwise);
    const dy = rand(info.outShape);
    const attrs = { strides: s, pad, dilations: [1, 1], dataFormat: 'NHWC', ...(wrt === 'input' ? { inputShape: xShape } : { filterShape: wShape }) };
    const inputs: Record<string, Input> = wrt === 'input' ? { dy, filter: rand(wShape) } : { x: rand(xShape), dy };
    const ref = await runKernel('cpu', kernel, inputs, attrs);
    const got = await runKernel('wasm', kernel, inputs, attrs);
    const d = relDiff(got.v, ref.v);
    if (!(d <= TOL) || got.shape.join() !== ref.shape.join()) failures.push(`${JSON.stringify(cs)}: rel diff ${d}, shape ${got.shape} vs ${ref.shape}`);
  }
  return failures;
}

/** A dilated filter as the undilated filter with zeros between its taps: [k, k, ...] -> [d(k-1)+1, ...]. */
function dilateFilter([w, [kh, kw, c, o]]: Input, d: number): Input {
  const KH = d * (kh - 1) + 1;
  const KW = d * (kw - 1) + 1;
  const out = new Float32Array(KH * KW * c * o);
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) out.set(w.subarray((a * kw + b) * c * o, (a * kw + b + 1) * c * o), (a * d * KW + b * d) * c * o);
  return [out, [KH, KW, c, o]];
}

/** The taps of a gradient for the zero-expanded filter that belong to the dilated filter. */
function undilate(v: Float32Array, [kh, kw, c, o]: number[], d: number): Float32Array {
  const KW = d * (kw! - 1) + 1;
  const inner = c! * o!;
  const out = new Float32Array(kh! * kw! * inner);
  for (let a = 0; a < kh!; a++) for (let b = 0; b < kw!; b++) out.set(v.subarray((a * d * KW + b * d) * inner, (a * d * KW + b * d + 1) * inner), (a * kw! + b) * inner);
  return out;
}

beforeAll(async () => {
  await initBackend('wasm', { quiet: true });
});
afterAll(() => shutdownBackend());

describe('WASM training kernels match the CPU engine', () => {
  it('replaces the stock Conv2DBackpropInput and registers the missing gradients', () => {
    expect(stockWasmKernel('Conv2DBackpropInput')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')!.kernelFunc).not.toBe(stockWasmKernel('Conv2DBackpropInput')!.kernelFunc);
    for (const k of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      expect(tf.getKernel(k, 'wasm'), k).toBeDefined();
    }
  });

  const convCases = cases(null);
  const dwCases = cases([1, 2]);

  it.each([
    ['Conv2DBackpropInput', false, 'input'],
    ['Conv2DBackpropFilter', false, 'filter'],
    ['DepthwiseConv2dNativeBackpropInput', true, 'input'],
    ['DepthwiseConv2dNativeBackpropFilter', true, 'filter'],
  ] as const)('%s over kernel sizes, strides, paddings, batch and channels', async (kernel, depthwise, wrt) => {
    const list = depthwise ? dwCases : convCases;
    expect(list.length).toBeGreaterThan(100);
    expect(await compareKernel(kernel, depthwise, wrt, list)).toEqual([]);
  });

  it('MaxPoolGrad routes each window to its first maximum, also for ties and windows <= 0', async () => {
    const failures: string[] = [];
    for (const [f, s] of [
      [2, 2],
      [3, 2],
      [3, 1],
      [2, 1],
    ])
      for (const pad of ['same', 'valid', 1] as const)
        for (const { n, c } of SIZES) {
          const xShape = [n, H, W, c];
          // small integers: many equal maxima, all-zero and all-negative windows
          const x: Input = [Float32Array.from({ length: n * H * W * c }, () => rng.int(5) - 3), xShape];
          const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], f!, s!, 1, pad);
          if (info.outHeight <= 0 || info.outWidth <= 0) continue;
          const dy = rand(info.outShape);
          const attrs = { filterSize: f, strides: s, pad };
          const ref = await runKernel('cpu', 'MaxPoolGrad', { dy, input: x, output: rand(info.outShape) }, attrs);
          const got = await runKernel('wasm', 'MaxPoolGrad', { dy, input: x, output: rand(info.outShape) }, attrs);
          const d = relDiff(got.v, ref.v);
          if (!(d <= TOL)) failures.push(`filter ${f} stride ${s} pad ${pad} n=${n} c=${c}: rel diff ${d}`);
        }
    expect(failures).toEqual([]);
  });

  it('handles dilations (checked against the CPU engine with the zero-expanded filter)', async () => {
    // The CPU engine's depthwise gradient kernels ignore dilations (tf.grad never asks for them),
    // so the reference is the undilated gradient of the equivalent zero-expanded filter.
    const failures: string[] = [];
    for (const depthwise of [false, true])
      for (const k of [2, 3])
        for (const d of [2, 3])
          for (const pad of PADS.slice(0, 3))
            for (const { n, c, o } of SIZES) {
              const xShape = [n, H, W, c];
              const w = rand([k, k, c, o]);
              const wide = dilateFilter(w, d);
              const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], w[1] as [number, number, number, number], 1, d, pad, undefined, depthwise);
              if (info.outHeight <= 0 || info.outWidth <= 0) continue;
              const dy = rand(info.outShape);
              const x = rand(xShape);
              const kin = depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput';
              const kfi = depthwise ? 'DepthwiseConv2dNativeBackpropFilter' : 'Conv2DBackpropFilter';
              const base = { strides: 1, pad, dataFormat: 'NHWC' };
              const refIn = await runKernel('cpu', kin, { dy, filter: wide }, { ...base, dilations: 1, inputShape: xShape });
              const gotIn = await runKernel('wasm', kin, { dy, filter: w }, { ...base, dilations: d, inputShape: xShape });
              const refF = await runKernel('cpu', kfi, { x, dy }, { ...base, dilations: 1, filterShape: wide[1] });
              const gotF = await runKernel('wasm', kfi, { x, dy }, { ...base, dilations: d, filterShape: w[1] });
              const dIn = relDiff(gotIn.v, refIn.v);
              const dF = relDiff(gotF.v, undilate(refF.v, w[1], d));
              if (!(dIn <= TOL && dF <= TOL)) failures.push(`${depthwise ? 'depthwise' : 'conv'} k=${k} d=${d} pad=${JSON.stringify(pad)} n=${n} c=${c}: input ${dIn}, filter ${dF}`);
            }
    expect(failures).toEqual([]);
  });

  it('gives the CPU engine gradients through tf.grads (conv, fused conv, depthwise, separable)', async () => {
    const x = rand([2, 12, 12, 3]);
    const w = rand([3, 3, 3, 8]);
    const b = rand([8]);
    const dw = rand([5, 5, 3, 2]);
    const pw = rand([1, 1, 6, 5]);
    const grads = async (engine: 'cpu' | 'wasm') => {
      await tf.setBackend(engine);
      const [xt, wt, bt, dwt, pwt] = [x, w, b, dw, pw].map(([d, s]) => tf.tensor(d, s));
      const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor, dwi: tf.Tensor, pwi: tf.Tensor) => {
        const c1 = tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, 2, 'same');
        const c2 = tf.fused.conv2d({ x: xi as tf.Tensor4D, filter: wi as tf.Tensor4D, strides: 1, pad: 'valid', bias: bi, activation: 'relu' });
        const c3 = tf.depthwiseConv2d(xi as tf.Tensor4D, dwi as tf.Tensor4D, 2, 'same');
        const c4 = tf.separableConv2d(xi as tf.Tensor4D, dwi as tf.Tensor4D, pwi as tf.Tensor4D, 1, 'same');
        return tf.addN([c1.square().sum(), c2.sum(), c3.mul(c3).sum(), c4.abs().sum()]) as tf.Scalar;
      };
      const gs = tf.grads(f)([xt!, wt!, bt!, dwt!, pwt!]);
      const vals = gs.map((g) => g.dataSync() as Float32Array);
      tf.dispose([...gs, xt!, wt!, bt!, dwt!, pwt!]);
      return vals;
    };
    const ref = await grads('cpu');
    const got = await grads('wasm');
    ref.forEach((r, i) => expect(relDiff(got[i]!, r), `gradient ${i}`).toBeLessThanOrEqual(TOL));
  });

  it('leaves no tensor and no wasm heap allocation behind', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    const x = tf.tensor(...rand([2, 9, 8, 3]));
    const w = tf.tensor(...rand([3, 3, 3, 4]));
    const dwf = tf.tensor(...rand([3, 3, 3, 2]));
    for (const s of [1, 2]) {
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
        tf.add(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, 'same').sum(), tf.depthwiseConv2d(a as tf.Tensor4D, c as tf.Tensor4D, s, 'same').sum()),
      )([x, w, dwf]);
      tf.dispose(g);
    }
    tf.dispose([x, w, dwf]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.backend().numDataIds()).toBe(dataIds);
  });
});
