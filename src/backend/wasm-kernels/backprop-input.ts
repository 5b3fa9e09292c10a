/**
 * Input gradients of Conv2D and DepthwiseConv2dNative as forward convolutions the WASM engine runs
 * fast (XNNPACK): per stride phase, dy convolved (stride 1) with the flipped, in/out-transposed
 * sub-filter of that phase; the phases are then interleaved into dx. See geometry.ts.
 */
import type * as tf from '@tensorflow/tfjs';
import { WasmHeap, copyRun } from './heap.js';
import { fastDepthwiseShape, inputGradAxis, type ConvGeometry, type InputGradAxis } from './geometry.js';

type TensorInfo = tf.TensorInfo;

/**
 * dx for a forward op with geometry `g`: a regular convolution (filter [fh, fw, C, O]) or, with
 * `depthwise`, a depthwise one (filter [fh, fw, C, mult], dy with C*mult channels).
 */
export function convInputGradient(h: WasmHeap, dy: TensorInfo, filter: TensorInfo, g: ConvGeometry, depthwise: boolean): TensorInfo {
  const ay = inputGradAxis(g.fh, g.sh, g.dh, g.padTop, g.inH, g.outH);
  const ax = inputGradAxis(g.fw, g.sw, g.dw, g.padLeft, g.inW, g.outW);
  if (g.sh === 1 && g.sw === 1) return phaseGradient(h, dy, filter, g, depthwise, ay, ax, 0, 0);

  const { batch: n, inH: H, inW: W, inC: C } = g;
  const dx = h.alloc([n, H, W, C]);
  // A phase without taps (a kernel smaller than the stride) contributes zeros.
  if (ay.phases.some((p) => p.taps.length === 0) || ax.phases.some((p) => p.taps.length === 0)) {
    h.heap().fill(0, h.offset(dx), h.offset(dx) + n * H * W * C);
  }
  for (let ry = 0; ry < g.sh; ry++) {
    for (let rx = 0; rx < g.sw; rx++) {
      if (ay.phases[ry]!.taps.length === 0 || ax.phases[rx]!.taps.length === 0) continue;
      const z = phaseGradient(h, dy, filter, g, depthwise, ay, ax, ry, rx);
      // Interleave: row o of this phase is dx row sh*o + ry - crop.
      const heap = h.heap();
      const zo = h.offset(z);
      const xo = h.offset(dx);
      for (let b = 0; b < n; b++) {
        for (let oy = 0; oy < ay.rows; oy++) {
          const iy = g.sh * oy + ry - ay.crop;
          if (iy < 0 || iy >= H) continue;
          for (let ox = 0; ox < ax.rows; ox++) {
            const ix = g.sw * ox + rx - ax.crop;
            if (ix < 0 || ix >= W) continue;
            copyRun(heap, xo + ((b * H + iy) * W + ix) * C, zo + ((b * ay.rows + oy) * ax.rows + ox) * C, C);
          }
        }
      }
      h.free(z);
    }
  }
  return dx;
}

/** One phase (ry, rx): a stride-1 convolution of dy with that phase's flipped sub-filter. */
function phaseGradient(
  h: WasmHeap,
  dy: TensorInfo,
  filter: TensorInfo,
  g: ConvGeometry,
  depthwise: boolean,
  ay: InputGradAxis,
  ax: InputGradAxis,
  ry: number,
  rx: number,
): TensorInfo {
  const tapsY = ay.phases[ry]!.taps;
  const tapsX = ax.phases[rx]!.taps;
  const pads = {
    top: ay.phases[ry]!.padBefore,
    bottom: ay.padAfter,
    left: ax.phases[rx]!.padBefore,
    right: ax.padAfter,
  };
  const sub = depthwise ? depthwiseSubFilter(h, filter, g, tapsY, tapsX) : convSubFilter(h, filter, g, tapsY, tapsX);
  // Zero taps appended to reach a fast depthwise kernel size shift the output end: pad for them.
  pads.bottom += ay.dilation * (sub.shape[0]! - tapsY.length);
  pads.right += ax.dilation * (sub.shape[1]! - tapsX.length);
  const src = cropForNegativePads(h, dy, pads);
  const attrs = {
    strides: [1, 1],
    pad: [
      [0, 0],
      [pads.top, pads.bottom],
      [pads.left, pads.right],
      [0, 0],
    ],
    dilations: [ay.dilation, ax.dilation],
    dataFormat: 'NHWC',
  };
  let z: TensorInfo;
  try {
    z = h.run(depthwise ? 'DepthwiseConv2dNative' : 'Conv2D', { x: src, filter: sub }, attrs);
  } finally {
    if (src !== dy) h.free(src);
    h.free(sub);
  }
  if (depthwise && g.mult > 1) {
    // dy channel c*mult+q went through w[.., c, q]; dx channel c sums over q.
    const [n, rows, cols] = z.shape as [number, number, number, number];
    const summed = h.run('Sum', { x: WasmHeap.reshaped(z, [n, rows, cols, g.inC, g.mult]) }, { axis: [4], keepDims: false });
    h.free(z);
    z = summed;
  }
  return z;
}

/** Sub-filter [Jy, Jx, O, C]: tap (ty, tx) is w[tapsY[ty], tapsX[tx]] with in/out channels swapped. */
function convSubFilter(h: WasmHeap, filter: TensorInfo, g: ConvGeometry, tapsY: number[], tapsX: number[]): TensorInfo {
  const C = g.inC;
  const O = g.outC;
  const sub = h.alloc([tapsY.length, tapsX.length, O, C]);
  const heap = h.heap();
  const wo = h.offset(filter);
  let so = h.offset(sub);
  for (const ky of tapsY) {
    for (const kx of tapsX) {
      const base = wo + (ky * g.fw + kx) * C * O;
      for (let o = 0; o < O; o++) {
        for (let c = 0; c < C; c++) heap[so + c] = heap[base + c * O + o]!;
        so += C;
      }
    }
  }
  return sub;
}

/**
 * Sub-filter [Jy', Jx', C*mult, 1] (a multiplier-1 depthwise filter over dy's channels): tap (ty, tx)
 * is w[tapsY[ty], tapsX[tx]] flattened over (c, q); zero taps appended up to a fast kernel size.
 */
function depthwiseSubFilter(h: WasmHeap, filter: TensorInfo, g: ConvGeometry, tapsY: number[], tapsX: number[]): TensorInfo {
  const CM = g.outC;
  const [jy, jx] = fastDepthwiseShape(tapsY.length, tapsX.length);
  const sub = h.alloc([jy, jx, CM, 1]);
  const heap = h.heap();
  const wo = h.offset(filter);
  const so = h.offset(sub);
  for (let ty = 0; ty < jy; ty++) {
    for (let tx = 0; tx < jx; tx++) {
      const dst = so + (ty * jx + tx) * CM;
      if (ty < tapsY.length && tx < tapsX.length) copyRun(heap, dst, wo + (tapsY[ty]! * g.fw + tapsX[tx]!) * CM, CM);
      else heap.fill(0, dst, dst + CM);
    }
  }
  return sub;
}

/** dy without the rows/columns a negative padding drops (the pads become 0); dy itself when none. */
function cropForNegativePads(h: WasmHeap, dy: TensorInfo, pads: { top: number; bottom: number; left: number; right: number }): TensorInfo {
  if (pads.top >= 0 && pads.bottom >= 0 && pads.left >= 0 && pads.right >= 0) return dy;
  const [n, H, W, C] = dy.shape as [number, number, number, number];
  const y0 = Math.max(0, -pads.top);
  const y1 = H - Math.max(0, -pads.bottom);
  const x0 = Math.max(0, -pads.left);
  const x1 = W - Math.max(0, -pads.right);
  for (const k of ['top', 'bottom', 'left', 'right'] as const) pads[k] = Math.max(0, pads[k]);
  const out = h.alloc([n, Math.max(0, y1 - y0), Math.max(0, x1 - x0), C]);
  const heap = h.heap();
  const so = h.offset(dy);
  let d = h.offset(out);
  const run = (x1 - x0) * C;
  for (let b = 0; b < n; b++) {
    for (let y = y0; y < y1; y++) {
      copyRun(heap, d, so + ((b * H + y) * W + x0) * C, run);
      d += run;
    }
  }
  return out;
}
