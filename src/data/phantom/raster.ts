/**
 * The phantom renderer's raster toolkit: the body frame (body coordinates to pixels), float layers
 * that shapes are drawn into (and the pixels each shape can change, for regions.ts), and the pixel
 * arithmetic the drawing shares (anti-aliased edges, smooth noise, box blur).
 */
import type { Rng } from '../../util/rng.js';

/**
 * Body coordinates: u across (image left = patient's right on a frontal view; on a lateral view
 * anterior is left), v downward; the lungs span about u ∈ [-0.45, 0.45], v ∈ [-0.48, 0.45].
 * Pixel = centre + s · R(θ)(u, v).
 */
export interface Frame {
  cx: number;
  cy: number;
  s: number;
  cos: number;
  sin: number;
}

/** Body coordinates (u, v) to pixel (x, y). */
export function toPx(f: Frame, u: number, v: number): [number, number] {
  return [f.cx + f.s * (u * f.cos - v * f.sin), f.cy + f.s * (u * f.sin + v * f.cos)];
}

/** What draws shapes in body coordinates: a Layer, or a pen that also records where one finding's sign is. */
export interface Pen {
  segment(u0: number, v0: number, u1: number, v1: number, width: number, value: number): void;
  polyline(pts: ReadonlyArray<readonly [number, number]>, width: number, value: number): void;
  blob(u: number, v: number, r: number, value: number, soft: boolean): void;
}

/** Pixels: columns xa … xb and rows ya … yb, inclusive, not clipped to the image. */
export interface Reach {
  xa: number;
  xb: number;
  ya: number;
  yb: number;
}

/**
 * The pixels Layer.segment can change for this segment: those nearer than half its width plus half
 * a pixel (its anti-aliased cover is positive), as in `segment` below.
 */
export function segmentPixels(f: Frame, u0: number, v0: number, u1: number, v1: number, width: number): Reach {
  const [x0, y0] = toPx(f, u0, v0);
  const [x1, y1] = toPx(f, u1, v1);
  const m = Math.max(0.5, (width * f.s) / 2) + 0.5;
  return { xa: Math.floor(Math.min(x0, x1) - m) + 1, xb: Math.ceil(Math.max(x0, x1) + m) - 1, ya: Math.floor(Math.min(y0, y1) - m) + 1, yb: Math.ceil(Math.max(y0, y1) + m) - 1 };
}

/** The pixels Layer.blob can change: a disc's (nearer than its radius plus half a pixel), a Gaussian's square (2.5 standard deviations). */
export function blobPixels(f: Frame, u: number, v: number, r: number, soft: boolean): Reach {
  const [cx, cy] = toPx(f, u, v);
  const rp = Math.max(0.5, r * f.s);
  if (soft) return { xa: Math.floor(cx - 2.5 * rp), xb: Math.ceil(cx + 2.5 * rp), ya: Math.floor(cy - 2.5 * rp), yb: Math.ceil(cy + 2.5 * rp) };
  const m = rp + 0.5;
  return { xa: Math.floor(cx - m) + 1, xb: Math.ceil(cx + m) - 1, ya: Math.floor(cy - m) + 1, yb: Math.ceil(cy + m) - 1 };
}

/** A W×H float layer that shapes are drawn into, in body coordinates. */
export class Layer implements Pen {
  readonly a: Float32Array;
  constructor(
    readonly w: number,
    readonly h: number,
    readonly f: Frame,
  ) {
    this.a = new Float32Array(w * h);
  }

  /** A thick segment with anti-aliased edges; overlapping strokes keep the larger value. */
  segment(u0: number, v0: number, u1: number, v1: number, width: number, value: number): void {
    const [x0, y0] = toPx(this.f, u0, v0);
    const [x1, y1] = toPx(this.f, u1, v1);
    const hw = Math.max(0.5, (width * this.f.s) / 2);
    const xa = Math.max(0, Math.floor(Math.min(x0, x1) - hw - 1));
    const xb = Math.min(this.w - 1, Math.ceil(Math.max(x0, x1) + hw + 1));
    const ya = Math.max(0, Math.floor(Math.min(y0, y1) - hw - 1));
    const yb = Math.min(this.h - 1, Math.ceil(Math.max(y0, y1) + hw + 1));
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy || 1e-9;
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const t = Math.min(1, Math.max(0, ((x - x0) * dx + (y - y0) * dy) / len2));
        const ex = x - (x0 + t * dx);
        const ey = y - (y0 + t * dy);
        const cover = hw + 0.5 - Math.sqrt(ex * ex + ey * ey);
        if (cover > 0) {
          const i = y * this.w + x;
          const val = value * Math.min(1, cover);
          if (value >= 0 ? val > this.a[i]! : val < this.a[i]!) this.a[i] = val;
        }
      }
    }
  }

  /** A polyline through points (u, v). */
  polyline(pts: ReadonlyArray<readonly [number, number]>, width: number, value: number): void {
    for (let i = 1; i < pts.length; i++) this.segment(pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1], width, value);
  }

  /** Adds a disc of radius r (sharp edge) or a Gaussian blob of standard deviation r (soft). */
  blob(u: number, v: number, r: number, value: number, soft: boolean): void {
    const [cx, cy] = toPx(this.f, u, v);
    const rp = Math.max(0.5, r * this.f.s);
    const reach = soft ? 2.5 * rp : rp + 1;
    const xa = Math.max(0, Math.floor(cx - reach));
    const xb = Math.min(this.w - 1, Math.ceil(cx + reach));
    const ya = Math.max(0, Math.floor(cy - reach));
    const yb = Math.min(this.h - 1, Math.ceil(cy + reach));
    const k = -1 / (2 * rp * rp);
    for (let y = ya; y <= yb; y++) {
      for (let x = xa; x <= xb; x++) {
        const d2 = sq(x - cx) + sq(y - cy);
        const w = soft ? Math.exp(d2 * k) : Math.min(1, Math.max(0, rp + 0.5 - Math.sqrt(d2)));
        this.a[y * this.w + x] += value * w;
      }
    }
  }
}

export function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Anti-aliased inside test: 0 outside, 1 inside, linear across one pixel (inv = pixels per body unit / 1.2). */
export function edge(d: number, inv: number): number {
  const t = d * inv + 0.5;
  return t <= 0 ? 0 : t >= 1 ? 1 : t;
}

export function sq(x: number): number {
  return x * x;
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp01((x - e0) / (e1 - e0));
  return t * t * (3 - 2 * t);
}

/** A smooth random field in [-1, 1]: a coarse grid of random values, bilinearly interpolated. */
export function smoothNoise(w: number, h: number, cells: number, rng: Rng): Float32Array {
  const gw = cells + 2;
  const gh = Math.ceil((cells * h) / w) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
  const out = new Float32Array(w * h);
  const sx = cells / w;
  for (let y = 0; y < h; y++) {
    const gy = y * sx;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < w; x++) {
      const gx = x * sx;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const i = y0 * gw + x0;
      const top = grid[i]! + (grid[i + 1]! - grid[i]!) * fx;
      const bot = grid[i + gw]! + (grid[i + gw + 1]! - grid[i + gw]!) * fx;
      out[y * w + x] = top + (bot - top) * fy;
    }
  }
  return out;
}

/** Body coordinates (u, v) of every pixel. */
export function bodyCoords(f: Frame, w: number, h: number): [Float32Array, Float32Array] {
  const U = new Float32Array(w * h);
  const V = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x - f.cx;
      const dy = y - f.cy;
      U[y * w + x] = (dx * f.cos + dy * f.sin) / f.s;
      V[y * w + x] = (-dx * f.sin + dy * f.cos) / f.s;
    }
  }
  return [U, V];
}

/** Box blur of radius r (edges clamped), horizontal then vertical, with running sums. */
export function boxBlur(src: Float32Array, w: number, h: number, r: number): Float32Array {
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  const n = 2 * r + 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += src[row + Math.min(w - 1, Math.max(0, k))]!;
    for (let x = 0; x < w; x++) {
      tmp[row + x] = sum / n;
      sum += src[row + Math.min(w - 1, x + r + 1)]! - src[row + Math.max(0, x - r)]!;
    }
  }
  for (let x = 0; x < w; x++) {
    let sum = 0;
    for (let k = -r; k <= r; k++) sum += tmp[Math.min(h - 1, Math.max(0, k)) * w + x]!;
    for (let y = 0; y < h; y++) {
      out[y * w + x] = sum / n;
      sum += tmp[Math.min(h - 1, y + r + 1) * w + x]! - tmp[Math.max(0, y - r) * w + x]!;
    }
  }
  return out;
}
