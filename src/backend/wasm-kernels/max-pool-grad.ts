/**
 * MaxPoolGrad for the WASM engine. The stock kernel (tfjs-backend-wasm 4.22) seeds its running
 * maximum with the smallest positive float instead of -infinity and keeps the last of equal
 * maxima, so a window whose values are all <= 0 (every window of zeros after a ReLU, every
 * negative window) sends its gradient to the wrong pixel. Here the gradient goes, as on the CPU
 * engine and in TensorFlow, to the first maximum of each window in row-major order.
 */
import * as tf from '@tensorflow/tfjs';
import type { WasmHeap } from './heap.js';

type TensorInfo = tf.TensorInfo;

export interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export function maxPoolGradient(h: WasmHeap, dy: TensorInfo, x: TensorInfo, attrs: PoolAttrs): TensorInfo {
  const info = tf.backend_util.computePool2DInfo(x.shape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
  const { batchSize: n, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const dx = h.alloc(x.shape);
  const heap = h.heap();
  const xo = h.offset(x);
  const dyo = h.offset(dy);
  const dxo = h.offset(dx);
  heap.fill(0, dxo, dxo + n * H * W * C);
  const best = new Float32Array(C);
  const arg = new Int32Array(C);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * info.strideHeight - info.padInfo.top;
      const yLo = Math.max(0, y0);
      const yHi = Math.min(H, y0 + info.effectiveFilterHeight);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = ox * info.strideWidth - info.padInfo.left;
        const xLo = Math.max(0, x0);
        const xHi = Math.min(W, x0 + info.effectiveFilterWidth);
        best.fill(-Infinity);
        arg.fill(-1);
        for (let iy = yLo; iy < yHi; iy++) {
          for (let ix = xLo; ix < xHi; ix++) {
            const p = (b * H + iy) * W + ix;
            const base = xo + p * C;
            for (let c = 0; c < C; c++) {
              const v = heap[base + c]!;
              if (v > best[c]!) {
                best[c] = v;
                arg[c] = p;
              }
            }
          }
        }
        const g = dyo + ((b * OH + oy) * OW + ox) * C;
        for (let c = 0; c < C; c++) {
          const p = arg[c]!;
          if (p >= 0) heap[dxo + p * C + c] += heap[g + c]!;
        }
      }
    }
  }
  return dx;
}
