/**
 * Filter gradients of Conv2D and DepthwiseConv2dNative out of the WASM engine's fast XNNPACK
 * kernels, with the input rearranged once into stride-phase planes over a flattened grid so that
 * every filter tap reads a contiguous window of it (a view, no copy). See geometry.ts.
 *
 * Grid: positions (n, j, i) with j < gridH, i < gridW, flattened to l. dy is placed on the grid
 * (zero where j >= outH or i >= outW); tap (ky, kx) reads plane (phase of ky, phase of kx) at
 * l + shift(ky) * gridW + shift(kx). A window that runs past its plane row only meets grid
 * positions where dy is zero, and every float it reads is one this kernel wrote (finite).
 *
 * - Conv2D: planes channel-major [C][grid]; tap window [C, L] times dy [L, O] is one fast matrix
 *   product (XNNPACK packs dy once and reuses it for every tap) giving dw[ky, kx] = [C, O].
 * - Depthwise: planes channel-last [grid][C]; the per-channel dot product over L is a depthwise
 *   convolution with a 25-tap kernel: the window, as an image [1, 5, 5, L/25 * C], against dy as
 *   its filter [5, 5, L/25 * C, 1], then a sum over the L/25 partial products.
 */
import type * as tf from '@tensorflow/tfjs';
import { WasmHeap, copyRun } from './heap.js';
import { filterGradAxis, type ConvGeometry, type FilterGradAxis } from './geometry.js';

type TensorInfo = tf.TensorInfo;

interface Grid {
  ay: FilterGradAxis;
  ax: FilterGradAxis;
  /** Positions per plane: batch * gridH * gridW. */
  size: number;
  /** The largest tap shift, in grid positions. */
  maxShift: number;
}

function makeGrid(g: ConvGeometry): Grid {
  const ay = filterGradAxis(g.fh, g.sh, g.dh, g.outH);
  const ax = filterGradAxis(g.fw, g.sw, g.dw, g.outW);
  return { ay, ax, size: g.batch * ay.grid * ax.grid, maxShift: Math.max(...ay.tapShift) * ax.grid + Math.max(...ax.tapShift) };
}

/** Where filter tap (ky, kx) starts, in grid positions from the start of all planes. */
function tapStart(grid: Grid, ky: number, kx: number): number {
  const plane = grid.ay.tapPhase[ky]! * grid.ax.phases.length + grid.ax.tapPhase[kx]!;
  return plane * grid.size + grid.ay.tapShift[ky]! * grid.ax.grid + grid.ax.tapShift[kx]!;
}

/**
 * For every plane (phase y, phase x), grid row (n, j) and column i: the input pixel it holds, or -1
 * for padding. Calls `row(dstPos, srcPixels)` per grid row with the source pixel index per column.
 */
function forEachPlaneRow(g: ConvGeometry, grid: Grid, row: (plane: number, pos: number, src: Int32Array) => void): void {
  const { ay, ax } = grid;
  const src = new Int32Array(ax.grid);
  let plane = 0;
  for (const qy of ay.phases) {
    for (const qx of ax.phases) {
      for (let b = 0; b < g.batch; b++) {
        for (let j = 0; j < ay.grid; j++) {
          const iy = g.sh * j + qy - g.padTop;
          for (let i = 0; i < ax.grid; i++) {
            const ix = g.sw * i + qx - g.padLeft;
            src[i] = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW ? (b * g.inH + iy) * g.inW + ix : -1;
          }
          row(plane, (b * ay.grid + j) * ax.grid, src);
        }
      }
      plane++;
    }
  }
}

/** dy [N, outH, outW, ch] placed on the grid [rows][ch] (zeros elsewhere, and up to `rows`). */
function dyOnGrid(h: WasmHeap, dy: TensorInfo, g: ConvGeometry, grid: Grid, rows: number): TensorInfo {
  const ch = g.outC;
  const out = h.alloc([rows, ch]);
  const heap = h.heap();
  const o = h.offset(out);
  const s = h.offset(dy);
  heap.fill(0, o, o + rows * ch);
  const run = g.outW * ch;
  for (let b = 0; b < g.batch; b++) {
    for (let j = 0; j < g.outH; j++) copyRun(heap, o + (b * grid.ay.grid + j) * grid.ax.grid * ch, s + (b * g.outH + j) * run, run);
  }
  return out;
}

/** dw [fh, fw, C, O] of Conv2D. */
export function convFilterGradient(h: WasmHeap, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const grid = makeGrid(g);
  const C = g.inC;
  const O = g.outC;
  const L = grid.size;
  const planeCount = grid.ay.phases.length * grid.ax.phases.length;
  const exact = grid.ay.grid === g.outH && grid.ax.grid === g.outW;
  const dyGrid = exact ? WasmHeap.reshaped(dy, [L, O]) : dyOnGrid(h, dy, g, grid, L);
  const planes = h.alloc([planeCount * C * L + grid.maxShift]);
  const dw = h.alloc([g.fh, g.fw, C, O]);
  try {
    {
      const heap = h.heap();
      const po = h.offset(planes);
      const xo = h.offset(x);
      const W = grid.ax.grid;
      forEachPlaneRow(g, grid, (plane, pos, src) => {
        const base = po + plane * C * L + pos;
        for (let c = 0; c < C; c++) {
          const d = base + c * L;
          for (let i = 0; i < W; i++) {
            const p = src[i]!;
            heap[d + i] = p < 0 ? 0 : heap[xo + p * C + c]!;
          }
        }
      });
      heap.fill(0, po + planeCount * C * L, po + planeCount * C * L + grid.maxShift);
    }
    for (let ky = 0; ky < g.fh; ky++) {
      for (let kx = 0; kx < g.fw; kx++) {
        const window = h.alias(planes, planeWindowStart(grid, C, ky, kx), [C, L]);
        let prod: TensorInfo;
        try {
          prod = h.run('BatchMatMul', { a: window, b: dyGrid }, { transposeA: false, transposeB: false });
        } finally {
          h.release(window);
        }
        const heap = h.heap();
        copyRun(heap, h.offset(dw) + (ky * g.fw + kx) * C * O, h.offset(prod), C * O);
        h.free(prod);
      }
    }
  } catch (e) {
    h.free(dw);
    throw e;
  } finally {
    h.free(planes);
    if (!exact) h.free(dyGrid);
  }
  return dw;
}

/** Start (in floats) of tap (ky, kx)'s [C, L] window in channel-major planes [plane][C][L]. */
function planeWindowStart(grid: Grid, C: number, ky: number, kx: number): number {
  const plane = grid.ay.tapPhase[ky]! * grid.ax.phases.length + grid.ax.tapPhase[kx]!;
  return plane * C * grid.size + grid.ay.tapShift[ky]! * grid.ax.grid + grid.ax.tapShift[kx]!;
}

/** Taps of the depthwise convolution that does each channel's dot product (5x5, a fast XNNPACK size). */
const DOT_SIDE = 5;
const DOT_TAPS = DOT_SIDE * DOT_SIDE;

/** dw [fh, fw, C, mult] of DepthwiseConv2dNative. */
export function depthwiseFilterGradient(h: WasmHeap, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const grid = makeGrid(g);
  const CM = g.outC; // C * mult: input channel c is repeated for each of its outputs c*mult+q
  const L = grid.size;
  const parts = Math.ceil(L / DOT_TAPS);
  const planeCount = grid.ay.phases.length * grid.ax.phases.length;
  const dyGrid = dyOnGrid(h, dy, g, grid, parts * DOT_TAPS);
  const planesLen = (planeCount * L + grid.maxShift + parts * DOT_TAPS - L) * CM;
  const planes = h.alloc([planesLen]);
  const dw = h.alloc([g.fh, g.fw, g.inC, g.mult]);
  const dotFilter = WasmHeap.reshaped(dyGrid, [DOT_SIDE, DOT_SIDE, parts * CM, 1]);
  const acc = new Float64Array(CM);
  try {
    {
      const heap = h.heap();
      const po = h.offset(planes);
      const xo = h.offset(x);
      const C = g.inC;
      const m = g.mult;
      forEachPlaneRow(g, grid, (plane, pos, src) => {
        let d = po + (plane * L + pos) * CM;
        for (let i = 0; i < src.length; i++, d += CM) {
          const p = src[i]!;
          if (p < 0) heap.fill(0, d, d + CM);
          else if (m === 1) copyRun(heap, d, xo + p * C, C);
          else for (let c = 0; c < C; c++) heap.fill(heap[xo + p * C + c]!, d + c * m, d + (c + 1) * m);
        }
      });
      heap.fill(0, po + planeCount * L * CM, po + planesLen);
    }
    for (let ky = 0; ky < g.fh; ky++) {
      for (let kx = 0; kx < g.fw; kx++) {
        const window = h.alias(planes, tapStart(grid, ky, kx) * CM, [1, DOT_SIDE, DOT_SIDE, parts * CM]);
        let partial: TensorInfo;
        try {
          partial = h.run('DepthwiseConv2dNative', { x: window, filter: dotFilter }, { strides: [1, 1], pad: 'valid', dilations: [1, 1] });
        } finally {
          h.release(window);
        }
        const heap = h.heap();
        acc.fill(0);
        let p = h.offset(partial);
        for (let part = 0; part < parts; part++) {
          for (let c = 0; c < CM; c++) acc[c] += heap[p + c]!;
          p += CM;
        }
        const d = h.offset(dw) + (ky * g.fw + kx) * CM;
        for (let c = 0; c < CM; c++) heap[d + c] = acc[c]!;
        h.free(partial);
      }
    }
  } catch (e) {
    h.free(dw);
    throw e;
  } finally {
    h.free(planes, dyGrid);
  }
  return dw;
}
