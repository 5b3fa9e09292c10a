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

/** The plane filter tap (ky, kx) reads and its shift there, in grid positions. */
function tapWindow(grid: Grid, ky: number, kx: number): { plane: number; shift: number } {
  return {
    plane: grid.ay.tapPhase[ky]! * grid.ax.phases.length + grid.ax.tapPhase[kx]!,
    shift: grid.ay.tapShift[ky]! * grid.ax.grid + grid.ax.tapShift[kx]!,
  };
}

/** Rows below which a filter-gradient product stacks several taps. */
const MIN_ROWS = 64;

/**
 * For every plane (phase y, phase x), in order: the input pixel (n, iy, ix flattened) each grid
 * position holds, or -1 for padding.
 */
function planePixels(g: ConvGeometry, grid: Grid): Int32Array[] {
  const { ay, ax } = grid;
  const planes: Int32Array[] = [];
  for (const qy of ay.phases) {
    for (const qx of ax.phases) {
      const pix = new Int32Array(grid.size);
      let l = 0;
      for (let b = 0; b < g.batch; b++) {
        for (let j = 0; j < ay.grid; j++) {
          const iy = g.sh * j + qy - g.padTop;
          for (let i = 0; i < ax.grid; i++, l++) {
            const ix = g.sw * i + qx - g.padLeft;
            pix[l] = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW ? (b * g.inH + iy) * g.inW + ix : -1;
          }
        }
      }
      planes.push(pix);
    }
  }
  return planes;
}

/**
 * dst[c * len + l] = heap[src[l] + c] for c < C, l < len: a gather-transpose to channel-major,
 * four positions at a time (several times faster in V8 than a plain double loop).
 */
function gatherChannelMajor(heap: Float32Array, src: Int32Array, dst: number, C: number, len: number): void {
  let l = 0;
  for (; l + 4 <= len; l += 4) {
    const a0 = src[l]!;
    const a1 = src[l + 1]!;
    const a2 = src[l + 2]!;
    const a3 = src[l + 3]!;
    for (let c = 0, d = dst + l; c < C; c++, d += len) {
      heap[d] = heap[a0 + c]!;
      heap[d + 1] = heap[a1 + c]!;
      heap[d + 2] = heap[a2 + c]!;
      heap[d + 3] = heap[a3 + c]!;
    }
  }
  for (; l < len; l++) {
    const a = src[l]!;
    for (let c = 0, d = dst + l; c < C; c++, d += len) heap[d] = heap[a + c]!;
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
  // planes, then the tail a window may run into, then one zero pixel that padding reads
  const planesLen = planeCount * C * L + grid.maxShift + C;
  const planes = h.alloc([planesLen]);
  const dw = h.alloc([g.fh, g.fw, C, O]);
  try {
    {
      const heap = h.heap();
      const po = h.offset(planes);
      const xo = h.offset(x);
      const zero = po + planesLen - C;
      heap.fill(0, po + planeCount * C * L, po + planesLen);
      planePixels(g, grid).forEach((pix, plane) => {
        const src = pix.map((p) => (p < 0 ? zero : xo + p * C));
        gatherChannelMajor(heap, src, po + plane * C * L, C, L);
      });
    }
    // One matrix product per tap on a view of the planes; with few channels, taps are stacked
    // (copied) so that each product has enough rows to keep XNNPACK's threads busy.
    const taps = g.fh * g.fw;
    const group = C >= MIN_ROWS ? 1 : Math.min(taps, Math.ceil(MIN_ROWS / C));
    for (let t0 = 0; t0 < taps; t0 += group) {
      const n = Math.min(group, taps - t0);
      const start = (t: number) => {
        const { plane, shift } = tapWindow(grid, Math.floor(t / g.fw), t % g.fw);
        return plane * C * L + shift;
      };
      let a: TensorInfo;
      if (n === 1) {
        a = h.alias(planes, start(t0), [C, L]);
      } else {
        a = h.alloc([n * C, L]);
        const heap = h.heap();
        const po = h.offset(planes);
        const ao = h.offset(a);
        for (let i = 0; i < n; i++) for (let c = 0; c < C; c++) copyRun(heap, ao + (i * C + c) * L, po + start(t0 + i) + c * L, L);
      }
      let prod: TensorInfo;
      try {
        prod = h.run('BatchMatMul', { a, b: dyGrid }, { transposeA: false, transposeB: false });
      } finally {
        if (n === 1) h.release(a);
        else h.free(a);
      }
      copyRun(h.heap(), h.offset(dw) + t0 * C * O, h.offset(prod), n * C * O);
      h.free(prod);
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
      planePixels(g, grid).forEach((pix, plane) => {
        let d = po + plane * L * CM;
        for (let l = 0; l < L; l++, d += CM) {
          const p = pix[l]!;
          if (p < 0) heap.fill(0, d, d + CM);
          else if (m === 1) copyRun(heap, d, xo + p * C, C);
          else for (let c = 0; c < C; c++) heap.fill(heap[xo + p * C + c]!, d + c * m, d + (c + 1) * m);
        }
      });
      heap.fill(0, po + planeCount * L * CM, po + planesLen);
    }
    for (let ky = 0; ky < g.fh; ky++) {
      for (let kx = 0; kx < g.fw; kx++) {
        const { plane, shift } = tapWindow(grid, ky, kx);
        const window = h.alias(planes, (plane * L + shift) * CM, [1, DOT_SIDE, DOT_SIDE, parts * CM]);
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
