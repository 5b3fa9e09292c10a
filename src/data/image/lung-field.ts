/**
 * Crops that look at the picture: the lung field of a frontal chest radiograph, found on a grey
 * thumbnail with Otsu's threshold.
 */
import type { PixelArray } from './decode.js';
import { resample, type Box } from './resample.js';

/** Grey float pixels (luma for RGB) of a raw image. */
export function toGreyFloat(img: { data: PixelArray; width: number; height: number; channels: number }): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = img.data[i]!;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = 0.299 * img.data[j]! + 0.587 * img.data[j + 1]! + 0.114 * img.data[j + 2]!;
  }
  return out;
}

const THUMB = 64;

/**
 * The lung field of a frontal chest radiograph: on a 64×64 thumbnail, pixels darker than Otsu's
 * threshold that are not connected to the border (air outside the body is) form the candidate lung
 * regions; the two largest, if together plausible in size and extent, give the box, widened by a
 * margin. Returns null when nothing plausible is found (the caller then keeps the whole image).
 */
export function lungFieldBox(img: { data: PixelArray; width: number; height: number; channels: number }): Box | null {
  const grey = toGreyFloat(img);
  const t = resample(grey, img.width, img.height, 1, { x: 0, y: 0, w: img.width, h: img.height }, THUMB, THUMB);
  const sorted = Float32Array.from(t).sort();
  const lo = sorted[Math.floor(0.01 * sorted.length)]!;
  const hi = sorted[Math.floor(0.99 * sorted.length)]!;
  if (hi - lo < 1e-6) return null;
  const level = new Uint8Array(t.length);
  for (let i = 0; i < t.length; i++) level[i] = Math.max(0, Math.min(255, Math.round(((t[i]! - lo) / (hi - lo)) * 255)));
  const threshold = otsu(level);
  const n = THUMB * THUMB;
  // 0 = bright, 1 = dark unvisited, 2 = outside (dark and connected to the border), 3+ = component ids
  const mark = new Int32Array(n);
  for (let i = 0; i < n; i++) mark[i] = level[i]! <= threshold ? 1 : 0;
  const stack = new Int32Array(n);
  const fill = (seed: number, id: number): { area: number; x0: number; y0: number; x1: number; y1: number } => {
    let sp = 0;
    stack[sp++] = seed;
    mark[seed] = id;
    let area = 0, x0 = THUMB, y0 = THUMB, x1 = -1, y1 = -1;
    while (sp > 0) {
      const p = stack[--sp]!;
      const x = p % THUMB;
      const y = (p - x) / THUMB;
      area++;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (x > 0 && mark[p - 1] === 1) { mark[p - 1] = id; stack[sp++] = p - 1; }
      if (x < THUMB - 1 && mark[p + 1] === 1) { mark[p + 1] = id; stack[sp++] = p + 1; }
      if (y > 0 && mark[p - THUMB] === 1) { mark[p - THUMB] = id; stack[sp++] = p - THUMB; }
      if (y < THUMB - 1 && mark[p + THUMB] === 1) { mark[p + THUMB] = id; stack[sp++] = p + THUMB; }
    }
    return { area, x0, y0, x1, y1 };
  };
  for (let i = 0; i < THUMB; i++) {
    for (const p of [i, (THUMB - 1) * THUMB + i, i * THUMB, i * THUMB + THUMB - 1]) if (mark[p] === 1) fill(p, 2);
  }
  const parts: { area: number; x0: number; y0: number; x1: number; y1: number }[] = [];
  let id = 3;
  for (let p = 0; p < n; p++) if (mark[p] === 1) parts.push(fill(p, id++));
  parts.sort((a, b) => b.area - a.area);
  const lungs = parts.filter((q) => q.area >= 0.015 * n).slice(0, 2);
  if (lungs.length === 0) return null;
  const area = lungs.reduce((s, q) => s + q.area, 0);
  const x0 = Math.min(...lungs.map((q) => q.x0));
  const x1 = Math.max(...lungs.map((q) => q.x1)) + 1;
  const y0 = Math.min(...lungs.map((q) => q.y0));
  const y1 = Math.max(...lungs.map((q) => q.y1)) + 1;
  if (area < 0.08 * n || x1 - x0 < 0.3 * THUMB || y1 - y0 < 0.25 * THUMB) return null;
  const mx = 0.05 * THUMB;
  const my = 0.05 * THUMB;
  const bx0 = Math.max(0, x0 - mx), bx1 = Math.min(THUMB, x1 + mx);
  const by0 = Math.max(0, y0 - my), by1 = Math.min(THUMB, y1 + my);
  const sx = img.width / THUMB;
  const sy = img.height / THUMB;
  const x = Math.floor(bx0 * sx);
  const y = Math.floor(by0 * sy);
  return { x, y, w: Math.min(img.width, Math.ceil(bx1 * sx)) - x, h: Math.min(img.height, Math.ceil(by1 * sy)) - y };
}

/** Otsu's threshold of 8-bit levels: the level that maximises the between-class variance. */
export function otsu(levels: Uint8Array): number {
  const hist = new Float64Array(256);
  for (let i = 0; i < levels.length; i++) hist[levels[i]!]!++;
  const total = levels.length;
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let wB = 0, sumB = 0, best = 0, bestVar = -1;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB;
    const mF = (sum - sumB) / wF;
    const v = wB * wF * (mB - mF) * (mB - mF);
    if (v > bestVar) {
      bestVar = v;
      best = t;
    }
  }
  return best;
}
