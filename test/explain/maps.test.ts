/**
 * The heatmaps' parts on small models built here: a model cut at a layer runs back to the same
 * logits (a skip connection around the cut included); on a linear head over global average pooling,
 * Grad-CAM, Grad-CAM++ and CRM have closed forms (CAM, up to scale; CRM from the class maps) that the
 * maps must equal; every registered backbone names its last block as the layer to explain; the .npy
 * and overlay files read back; no tensor leaks.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.js';
import { classMaps } from '../../src/explain/maps.js';
import { npy, overlayPng, upsample } from '../../src/explain/render.js';
import { splitAt } from '../../src/explain/split.js';
import { MODELS } from '../../src/models/registry.js';
import { maxAbsDiff } from '../models/helpers.js';

beforeAll(async () => {
  await initBackend('cpu', { quiet: true });
});

const H = 4;
const K = 6;
const CLASSES = 3;

/** input [8, 8, 3] → conv (A: [4, 4, 6], relu) → GAP → Dense(3), and a skip variant. */
function camModel(skip: boolean, seed = 1): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const conv1 = tf.layers.conv2d({ filters: K, kernelSize: 3, strides: 2, padding: 'same', name: 'conv1', kernelInitializer: tf.initializers.glorotUniform({ seed }) }).apply(input) as tf.SymbolicTensor;
  const a = tf.layers.activation({ activation: 'relu', name: 'target' }).apply(conv1) as tf.SymbolicTensor;
  let x = a;
  if (skip) {
    const more = tf.layers.conv2d({ filters: K, kernelSize: 1, name: 'conv2', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }).apply(a) as tf.SymbolicTensor;
    x = tf.layers.add({ name: 'skip' }).apply([more, conv1]) as tf.SymbolicTensor; // reads conv1, before the cut
  }
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: CLASSES, name: 'logits', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

function inputs(n: number): tf.Tensor4D {
  return tf.tidy(() => tf.sin(tf.range(0, n * 8 * 8 * 3).mul(0.37).add(0.5)).reshape([n, 8, 8, 3]) as tf.Tensor4D);
}

describe('splitAt', () => {
  it('front then back gives the model logits, with a skip connection around the cut', async () => {
    for (const skip of [false, true]) {
      const model = camModel(skip);
      const split = splitAt(model, 'target');
      expect(split.shape).toEqual([H, H, K]);
      const x = inputs(3);
      const [a, ...sides] = [split.front.predict(x)].flat() as tf.Tensor[];
      expect(sides.length).toBe(skip ? 1 : 0);
      const y = split.back(a!, sides);
      const ref = model.predict(x) as tf.Tensor;
      expect(maxAbsDiff(await y.data(), await ref.data())).toBeLessThan(1e-6);
      tf.dispose([x, a, ...sides, y, ref]);
      model.dispose();
    }
  });

  it('an unknown layer names the model\'s layers', () => {
    const model = camModel(false);
    expect(() => splitAt(model, 'nope')).toThrow(/no layer named 'nope'/);
    model.dispose();
  });
});

describe('maps on a linear head over global average pooling', () => {
  /** A [n, 4, 4, 6] and the class-c CAM Σ_k W_kc A_k. */
  async function reference(model: tf.LayersModel, x: tf.Tensor4D) {
    const split = splitAt(model, 'target');
    const a = split.front.predict(x) as tf.Tensor4D;
    const W = model.getLayer('logits').getWeights()[0]!; // [K, classes]
    const cam = tf.einsum('nhwk,kc->nhwc', a, W);
    const out = { a: await a.data(), cam: await cam.data(), W: await W.data() };
    tf.dispose([a, cam]);
    return { split, ...out };
  }

  it('Grad-CAM is ReLU(CAM) / (h·w); Grad-CAM++ and CRM have their closed forms', async () => {
    const model = camModel(false);
    const x = inputs(2);
    const { split, cam, a, W } = await reference(model, x);
    const before = tf.memory().numTensors;
    for (let c = 0; c < CLASSES; c++) {
      const g = await classMaps(split, x, c, 'gradcam');
      const want = Array.from({ length: 2 * H * H }, (_, i) => Math.max(0, cam[i * CLASSES + c]!) / (H * H));
      expect(maxAbsDiff(g.maps, want)).toBeLessThan(1e-6);

      // CRM: removing location l changes output n by CAM_n(l) / (h·w); kept where CAM_c(l) > 0.
      const r = await classMaps(split, x, c, 'crm');
      const crm = Array.from({ length: 2 * H * H }, (_, i) => {
        if (!(cam[i * CLASSES + c]! > 0)) return 0;
        let s = 0;
        for (let n = 0; n < CLASSES; n++) s += (cam[i * CLASSES + n]! / (H * H)) ** 2;
        return s;
      });
      expect(maxAbsDiff(r.maps, crm)).toBeLessThan(1e-6);

      // Grad-CAM++ with a gradient constant over the map, g_k = W_kc / (h·w): α_k = g_k² / (2 g_k² +
      // S_k g_k³ + 1e-7) with S_k = Σ_ij A_ijk; w_k = h·w · α_k · ReLU(g_k); map = ReLU(Σ_k w_k A_k).
      const pp = await classMaps(split, x, c, 'gradcam++');
      const wantPp = Array.from({ length: 2 * H * H }, (_, i) => {
        const n = Math.floor(i / (H * H));
        let s = 0;
        for (let k = 0; k < K; k++) {
          const g = W[k * CLASSES + c]! / (H * H);
          let S = 0;
          for (let j = 0; j < H * H; j++) S += a[(n * H * H + j) * K + k]!;
          const alpha = g === 0 ? 0 : (g * g) / (2 * g * g + S * g ** 3 + 1e-7);
          s += H * H * alpha * Math.max(g, 0) * a[i * K + k]!;
        }
        return Math.max(0, s);
      });
      expect(maxAbsDiff(pp.maps, wantPp)).toBeLessThan(1e-6);
      expect(pp.maps.some((v) => v > 0)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});

describe('the registry', () => {
  it("each backbone's layer to explain is its last block's output (a spatial map)", () => {
    for (const spec of MODELS) {
      const model = spec.build({ inputSize: spec.minInputSize });
      const last = model.layers[model.layers.length - 1]!;
      expect(last.name, spec.name).toBe(spec.camLayer);
      expect((last.output as tf.SymbolicTensor).shape.length, spec.name).toBe(4);
      model.dispose();
    }
  });
});

describe('render', () => {
  it('.npy: NumPy 1.0 header (64-byte aligned, shape) then little-endian float32', () => {
    const data = Float32Array.from([1, 2.5, -3, 4, 5, 6]);
    const b = npy(data, [2, 3]);
    const headerLen = b[8]! | (b[9]! << 8);
    expect((10 + headerLen) % 64).toBe(0);
    const header = Buffer.from(b.subarray(10, 10 + headerLen)).toString('latin1');
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    expect(Array.from(new Float32Array(b.slice(10 + headerLen).buffer))).toEqual(Array.from(data));
  });

  it('upsampling keeps a constant map and the centres of a 2×2 map', () => {
    expect(Array.from(upsample([2, 2, 2, 2], 2, 2, 5, 7)).every((v) => v === 2)).toBe(true);
    const up = upsample([0, 1, 2, 3], 2, 2, 4, 4);
    expect(up[0]).toBe(0);
    expect(up[15]).toBe(3);
  });

  it('the overlay is the image and a colour bar to its right', async () => {
    const pixels = new Float32Array(16 * 16 * 3).map((_, i) => (i % 7) / 7);
    const png = await overlayPng({ pixels, dim: 16 }, [0, 1, 2, 3], 2, 2);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    expect(meta.height).toBe(256);
    expect(meta.width).toBe(256 + 6 + 16);
  });
});
