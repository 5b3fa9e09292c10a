/**
 * Ranking figures straight from one column's sorted packed keys, without building its score groups:
 * what a column's summary (column-summary.ts) and the all-classes sweep (columns-sweep.ts) need, in
 * one walk. A packed key is (key32(score) − minKey) << 1 | label (radix.ts).
 */
import type { Ranking } from './types.js';

/** Fields `walkPacked` writes per column (NaN where a figure is undefined). */
export const WALK_FIELDS = 6;

/**
 * The ranking walk over one column's sorted packed keys ((key − minKey) << 1 | label, ascending),
 * from the highest score down, a group of equal scores at a time: the sums of `ranking`
 * (curves.ts) without building the groups. Writes to out[o..o+6): AUROC, average precision,
 * AUPRC, positives, and the positives and cases at or above `thrKey` (a key from `thresholdKey`, radix.ts).
 */
export function walkPacked(sorted: Uint32Array, m: number, minKey: number, thrKey: number, out: Float64Array, o: number): void {
  let tps = 0;
  let fps = 0;
  let area = 0;
  let ap = 0;
  let pr = 0;
  let tpAt = -1;
  let atCount = 0;
  let i = m - 1;
  while (i >= 0) {
    const x = sorted[i]!;
    const s = x >>> 1;
    let tp = x & 1;
    let j = i - 1;
    while (j >= 0 && sorted[j]! >>> 1 === s) {
      tp += sorted[j]! & 1;
      j--;
    }
    const fp = i - j - tp;
    if (tpAt < 0 && s + minKey < thrKey) {
      tpAt = tps;
      atCount = tps + fps;
    }
    area += fp * (tps + tp * 0.5);
    if (tp > 0) {
      const before = tps + fps;
      const prevP = before > 0 ? tps / before : 1;
      tps += tp;
      fps += fp;
      const p = tps / (tps + fps);
      ap += tp * p;
      pr += tp * (p + prevP) * 0.5;
    } else {
      fps += fp;
    }
    i = j;
  }
  if (tpAt < 0) {
    tpAt = tps;
    atCount = m;
  }
  const P = tps;
  const N = fps;
  out[o] = P > 0 && N > 0 ? area / P / N : NaN;
  out[o + 1] = P > 0 ? Math.max(0, ap / P) : NaN;
  out[o + 2] = P > 0 ? pr / P : NaN;
  out[o + 3] = P;
  out[o + 4] = tpAt;
  out[o + 5] = atCount;
}

/** The ranking figures `walkPacked` wrote at out[o..], NaN read as undefined (null). */
export function rankingOf(out: Float64Array, o: number): Ranking {
  const v = (x: number) => (x === x ? x : null);
  return { auroc: v(out[o]!), ap: v(out[o + 1]!), auprc: v(out[o + 2]!) };
}
