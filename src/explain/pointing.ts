/**
 * The pointing game (Zhang et al., "Top-down neural attention by excitation backprop", ECCV 2016):
 * a heatmap points at its peak, and scores a hit for a finding when the peak lies on the finding
 * (within `tolerance` pixels of one of its boxes), a miss otherwise. A class's accuracy is
 * hits / trials over the images where the finding is present and located; images where it is present
 * but has no box are counted apart (`unlocated`), never as misses.
 *
 * Coordinates are the explained image's, continuous: pixel k spans [k, k + 1). A map of h × w cells
 * over an image of H × W pixels puts cell (row r, column c) over [c W/w, (c + 1) W/w) × [r H/h,
 * (r + 1) H/h); the peak's point is its cell's centre, ((c + 0.5) W/w, (r + 0.5) H/h). The peak is
 * the first maximum in row-major order (NaN cells are passed over). A box {x0, y0, x1, y1} is the
 * rectangle [x0, x1] × [y0, y1] (findings.csv's pixel boxes, x1 and y1 exclusive as pixel indices,
 * are exactly this rectangle). Zhang et al. allow 15 pixels at a 224-pixel input; the default here is
 * 0 (the peak must lie in a box): scale the tolerance with the image (15 × W / 224) to compare.
 * Pure functions, no tensors.
 */
import { MedtrainError } from '../util/errors.js';

/** A rectangle of the explained image: [x0, x1] × [y0, y1] in its pixels. */
export interface PointingBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PointingOptions {
  /** How far (Euclidean, in image pixels) the peak may lie outside a box and still hit (default 0). */
  tolerance?: number;
}

/** Where a heatmap points and whether that is on the finding. */
export interface PointingOutcome {
  hit: boolean;
  /** The peak cell (row-major index `row * w + col`) and its value. */
  row: number;
  col: number;
  value: number;
  /** The peak's point in image pixels (the cell's centre). */
  x: number;
  y: number;
  /** Distance from the point to the nearest box (0 inside one; Infinity without boxes). */
  distance: number;
}

/** The first maximum of a map in row-major order (NaN passed over): its index and value. */
export function heatmapPeak(map: ArrayLike<number>): { index: number; value: number } {
  let index = -1;
  let value = -Infinity;
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    if (v > value || (index < 0 && v === -Infinity)) {
      index = i;
      value = v;
    }
  }
  if (index < 0) throw new MedtrainError('the heatmap has no value to point with (it is empty or all NaN)', { code: 'bad-heatmap', value: map.length });
  return { index, value };
}

/** Distance from a point to a rectangle (0 inside or on its edge). */
export function distanceToBox(x: number, y: number, b: PointingBox): number {
  const dx = Math.max(b.x0 - x, 0, x - b.x1);
  const dy = Math.max(b.y0 - y, 0, y - b.y1);
  return Math.hypot(dx, dy);
}

function checkSize(what: string, n: number): void {
  if (!(Number.isInteger(n) && n > 0)) throw new MedtrainError(`the ${what} must be a whole number of at least 1`, { code: 'bad-heatmap', column: what, value: n });
}

/**
 * One round of the pointing game: the peak of an h × w `map` (row-major) over an image of
 * `image.width` × `image.height` pixels, against the finding's `boxes` in that image's pixels.
 */
export function pointingHit(map: ArrayLike<number>, h: number, w: number, image: { width: number; height: number }, boxes: readonly PointingBox[], opts: PointingOptions = {}): PointingOutcome {
  checkSize('heatmap height', h);
  checkSize('heatmap width', w);
  if (map.length !== h * w) throw new MedtrainError(`the heatmap holds ${map.length} values, not ${h} × ${w}`, { code: 'bad-heatmap', value: map.length });
  if (!(image.width > 0 && image.height > 0)) throw new MedtrainError('the explained image needs a positive width and height', { code: 'bad-heatmap', value: image });
  const tolerance = opts.tolerance ?? 0;
  if (!(tolerance >= 0 && Number.isFinite(tolerance))) throw new MedtrainError('the pointing tolerance must be a number of pixels, 0 or more', { code: 'bad-option', column: 'tolerance', value: tolerance });
  const { index, value } = heatmapPeak(map);
  const row = Math.floor(index / w);
  const col = index - row * w;
  const x = ((col + 0.5) * image.width) / w;
  const y = ((row + 0.5) * image.height) / h;
  let distance = Infinity;
  for (const b of boxes) distance = Math.min(distance, distanceToBox(x, y, b));
  return { hit: distance <= tolerance, row, col, value, x, y, distance };
}

/** One image's round for one finding; `hit` null: the finding is present but has no location. */
export interface PointingTrial {
  finding: string;
  hit: boolean | null;
}

/** A class's score: hits / trials over the images where the finding is present and located. */
export interface PointingScore {
  hits: number;
  trials: number;
  /** hits / trials; null when there was no trial. */
  accuracy: number | null;
  /** Images where the finding is present but has no box (not trials). */
  unlocated: number;
}

/**
 * Per-class pointing accuracy from the rounds played (one per image where the finding is present).
 * `findings`: the classes to report, in order, each present even without trials; default: every
 * finding met, in first-seen order.
 */
export function pointingAccuracy(trials: Iterable<PointingTrial>, findings?: readonly string[]): Record<string, PointingScore> {
  const scores = new Map<string, PointingScore>();
  const blank = (): PointingScore => ({ hits: 0, trials: 0, accuracy: null, unlocated: 0 });
  for (const f of findings ?? []) scores.set(f, blank());
  for (const t of trials) {
    let s = scores.get(t.finding);
    if (!s) {
      if (findings) continue;
      scores.set(t.finding, (s = blank()));
    }
    if (t.hit === null) s.unlocated++;
    else {
      s.trials++;
      if (t.hit) s.hits++;
    }
  }
  for (const s of scores.values()) s.accuracy = s.trials ? s.hits / s.trials : null;
  return Object.fromEntries(scores);
}
