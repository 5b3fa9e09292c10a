/**
 * Resampling in JavaScript on float pixels: any depth in, float out, so 16-bit images keep their
 * depth until the window maps them to [0, 255], and every decoder's pixels get the same treatment.
 */
import type { PixelArray } from './decode.js';

/** A rectangle of an image: columns [x, x+w), rows [y, y+h). */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The largest centred square. */
export function centreSquare(width: number, height: number): Box {
  const s = Math.min(width, height);
  return { x: Math.floor((width - s) / 2), y: Math.floor((height - s) / 2), w: s, h: s };
}

/**
 * Separable antialiased resampling (triangle filter widened by the reduction factor, as Pillow's
 * bilinear resize), reading the box [x, x+w) × [y, y+h) of an interleaved image of c channels.
 */
export function resample(src: PixelArray, width: number, height: number, c: number, box: Box, outW: number, outH: number): Float32Array {
  const cx = axisCoefficients(box.x, box.w, width, outW);
  const cy = axisCoefficients(box.y, box.h, height, outH);
  const xs = cx.start, xn = cx.count, xw = cx.weights, xt = cx.taps;
  const r0 = cy.first;
  const rows = cy.last - r0;
  const line = outW * c;
  // Horizontal pass over the rows the vertical pass needs.
  const tmp = new Float32Array(rows * line);
  for (let r = 0; r < rows; r++) {
    const rowOff = (r0 + r) * width * c;
    const tOff = r * line;
    if (c === 1) {
      for (let o = 0; o < outW; o++) {
        const s = rowOff + xs[o]!;
        const n = xn[o]!;
        const wo = o * xt;
        let acc = 0;
        for (let k = 0; k < n; k++) acc += xw[wo + k]! * src[s + k]!;
        tmp[tOff + o] = acc;
      }
    } else {
      for (let o = 0; o < outW; o++) {
        const n = xn[o]!;
        const wo = o * xt;
        for (let ch = 0; ch < c; ch++) {
          const s = rowOff + xs[o]! * c + ch;
          let acc = 0;
          for (let k = 0; k < n; k++) acc += xw[wo + k]! * src[s + k * c]!;
          tmp[tOff + o * c + ch] = acc;
        }
      }
    }
  }
  // Vertical pass.
  const ys = cy.start, yn = cy.count, yw = cy.weights, yt = cy.taps;
  const out = new Float32Array(line * outH);
  for (let o = 0; o < outH; o++) {
    const n = yn[o]!;
    const wo = o * yt;
    const dst = o * line;
    const s0 = ys[o]! - r0;
    for (let k = 0; k < n; k++) {
      const w = yw[wo + k]!;
      const so = (s0 + k) * line;
      for (let i = 0; i < line; i++) out[dst + i] += w * tmp[so + i]!;
    }
  }
  return out;
}

/** One axis of a resample: per output sample, its first input index, tap count and normalised weights (`taps` per sample); first..last bounds the inputs read. */
interface AxisCoefficients {
  start: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  taps: number;
  first: number;
  last: number;
}

function axisCoefficients(inStart: number, inLen: number, inMax: number, outLen: number): AxisCoefficients {
  const scale = inLen / outLen;
  const fscale = Math.max(scale, 1);
  const support = fscale;
  const taps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float64Array(outLen * taps);
  let first = inMax;
  let last = 0;
  for (let o = 0; o < outLen; o++) {
    const center = inStart + (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(center - support));
    const hi = Math.min(inMax, Math.ceil(center + support));
    let total = 0;
    let n = 0;
    for (let j = lo; j < hi && n < taps; j++, n++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - center) / fscale));
      weights[o * taps + n] = w;
      total += w;
    }
    if (total === 0) {
      // The centre fell outside the image: take the nearest pixel.
      const j = Math.min(inMax - 1, Math.max(0, Math.floor(center)));
      start[o] = j;
      count[o] = 1;
      weights[o * taps] = 1;
    } else {
      for (let k = 0; k < n; k++) weights[o * taps + k] = weights[o * taps + k]! / total;
      start[o] = lo;
      count[o] = n;
    }
    first = Math.min(first, start[o]!);
    last = Math.max(last, start[o]! + count[o]!);
  }
  return { start, count, weights, taps, first, last };
}
