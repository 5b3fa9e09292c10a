/**
 * The index arithmetic of convolution gradients, one spatial axis at a time.
 *
 * Forward convolution along one axis (stride s, dilation d, padding p before):
 *   y[o] = sum_k x[o*s - p + k*d] * w[k]
 *
 * Input gradient: dx[i] = sum over (o, k) with o*s - p + k*d = i of dy[o] * w[k]. With
 * r = (i + p) mod s only the taps with k*d ≡ r (mod s) reach i (when s > 1, d is 1), so the
 * rows of dx fall into s phases, each a stride-1 convolution of dy with a flipped sub-filter
 * (`inputGradAxis`). Interleaving the phases gives dx; no zeros are inserted into dy and no
 * multiply is wasted.
 *
 * Filter gradient: dw[k] = sum_o x[o*s - p + k*d] * dy[o]. Splitting the padded input into its
 * s phases (rows ≡ q mod s) turns every tap into a window of one phase plane shifted by a whole
 * number of rows (`filterGradAxis`); over a flattened grid those windows are contiguous, so a
 * tap's operand is a view, not a copy.
 */
import * as tf from '@tensorflow/tfjs';

type PadArg = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

/** Everything a gradient kernel needs to know about the forward convolution (NHWC). */
export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  /** Output channels of the forward op (depthwise: inC * multiplier). */
  outC: number;
  fh: number;
  fw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  padTop: number;
  padLeft: number;
  /** Depthwise channel multiplier (1 for a regular convolution). */
  mult: number;
}

export interface ConvAttrs {
  strides: number | [number, number];
  pad: PadArg;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

export function convGeometry(inShape: number[], filterShape: number[], attrs: ConvAttrs, depthwise: boolean, kernel: string): ConvGeometry {
  if (attrs.dataFormat === 'NCHW') throw new Error(`wasm ${kernel}: dataFormat NCHW is not supported, use NHWC (channelsLast)`);
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  if ((info.strideHeight > 1 && info.dilationHeight > 1) || (info.strideWidth > 1 && info.dilationWidth > 1)) {
    throw new Error(`wasm ${kernel}: strides and dilations greater than 1 on the same axis are not supported`);
  }
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    fh: info.filterHeight,
    fw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    dh: info.dilationHeight,
    dw: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    mult: depthwise ? info.outChannels / info.inChannels : 1,
  };
}

export interface InputGradPhase {
  /** Filter indices in convolution order (flipped): tap t of the phase's sub-filter is w[taps[t]]. */
  taps: number[];
  /** Padding before dy for this phase's convolution; negative means: drop that many rows of dy. */
  padBefore: number;
}

export interface InputGradAxis {
  /** Dilation of the phase convolutions (the forward dilation when the stride is 1, else 1). */
  dilation: number;
  /** Rows per phase output. */
  rows: number;
  /** Padding after dy (same for all phases); negative means: drop rows of dy. */
  padAfter: number;
  /** Row g of the interleaved phases (g = s*row + phase) is input row g - crop. */
  crop: number;
  phases: InputGradPhase[];
}

/** Phase decomposition of the input gradient along one axis (kernel k, stride s, dilation d, padding p). */
export function inputGradAxis(k: number, s: number, d: number, p: number, inSize: number, outSize: number): InputGradAxis {
  const dilation = s === 1 ? d : 1;
  const qLo = Math.floor(p / s);
  const rows = Math.floor((p + inSize - 1) / s) - qLo + 1;
  const phases: InputGradPhase[] = [];
  for (let r = 0; r < s; r++) {
    const j = r < k ? Math.ceil((k - r) / s) : 0;
    const taps: number[] = [];
    for (let t = 0; t < j; t++) taps.push(r + s * (j - 1 - t));
    phases.push({ taps, padBefore: dilation * (j - 1) - qLo });
  }
  return { dilation, rows, padAfter: rows - outSize + qLo, crop: p - s * qLo, phases };
}

export interface FilterGradAxis {
  /** Distinct input phases used by some tap, ascending. */
  phases: number[];
  /** For filter index k: which entry of `phases` it reads. */
  tapPhase: number[];
  /** For filter index k: its shift, in phase-plane rows. */
  tapShift: number[];
  /** Rows of each phase plane: row j of phase q is input row s*j + q - p (zero outside the input). */
  grid: number;
}

/** Phase planes and tap shifts of the filter gradient along one axis. */
export function filterGradAxis(k: number, s: number, d: number, outSize: number): FilterGradAxis {
  const raw = Array.from({ length: k }, (_, i) => (i * d) % s);
  const phases = [...new Set(raw)].sort((a, b) => a - b);
  const tapShift = Array.from({ length: k }, (_, i) => Math.floor((i * d) / s));
  return { phases, tapPhase: raw.map((q) => phases.indexOf(q)), tapShift, grid: outSize + Math.max(...tapShift) };
}

/** XNNPACK runs a depthwise convolution fast only for these numbers of taps (others fall back to a slow path). */
const FAST_DEPTHWISE_TAPS = [1, 4, 9, 25];

/**
 * The smallest kernel [h', w'] ⊇ [h, w] with a tap count XNNPACK's depthwise convolution runs
 * fast, or [h, w] itself when there is none (more than 25 taps).
 */
export function fastDepthwiseShape(h: number, w: number): [number, number] {
  if (FAST_DEPTHWISE_TAPS.includes(h * w)) return [h, w];
  let best: [number, number] = [h, w];
  let bestTaps = Infinity;
  for (let a = h; a <= 25; a++) {
    for (let b = w; a * b <= 25; b++) {
      if (FAST_DEPTHWISE_TAPS.includes(a * b) && a * b < bestTaps) {
        best = [a, b];
        bestTaps = a * b;
      }
    }
  }
  return best;
}
