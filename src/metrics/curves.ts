/**
 * Ranking metrics and curves from a class's score groups (groups.ts), with scikit-learn's
 * definitions (1.9), so numbers match what users compute in Python:
 * - AUROC: the area under the ROC curve with ties as diagonal steps (the trapezoid rule of
 *   `roc_auc_score`), equal to the Mann–Whitney U statistic with midranks / (P·N). Computed in
 *   integer-exact arithmetic for unweighted data.
 * - ROC curve: `roc_curve(drop_intermediate=True)` point for point, starting at (0, 0, +Infinity).
 * - Average precision: `average_precision_score`, the step sum Σ (R_k − R_{k−1}) · P_k over
 *   decreasing thresholds (no interpolation).
 * - AUPRC: the trapezoidal area under `precision_recall_curve`'s points, which end at
 *   (recall 0, precision 1): `sklearn.metrics.auc(recall, precision)`. Trapezoids interpolate
 *   precision linearly and so can read a little higher than average precision; report both.
 *
 * A metric that is undefined for the data returns null, never 0: AUROC needs positives and
 * negatives; average precision and AUPRC need positives (with no negatives they are 1).
 * Groups of zero weight (a bootstrap replicate that drew none of those cases) are skipped, as
 * scikit-learn drops zero-weight samples.
 */
import type { Confusion, Ranking, ScoreGroups } from './types.js';

/**
 * AUROC, average precision and AUPRC in one pass over the groups.
 * - AUROC: Σ over groups of fp_g · (positives above + tp_g / 2), over P·N (exact for counts).
 * - AP: Σ over groups with positives of (tp_g / P) · precision there.
 * - AUPRC: trapezoids between successive PR points; a group without positives adds a point of the
 *   same recall (a zero-width trapezoid), so only the precision of the point before each recall step
 *   is needed: that is the precision of the cumulative counts before the group.
 */
export function ranking(g: ScoreGroups): Ranking {
  const acc = new RankingSum(g.positives, g.negatives);
  const { pos, neg } = g;
  for (let k = 0; k < pos.length; k++) acc.add(pos[k]!, neg[k]!);
  return acc.result();
}

/** The running sums of `ranking`, fed one group at a time in decreasing score. */
class RankingSum {
  private tps = 0;
  private fps = 0;
  private area = 0;
  private ap = 0;
  private pr = 0;
  constructor(
    private readonly P: number,
    private readonly N: number,
  ) {}

  add(tp: number, fp: number): void {
    this.area += fp * (this.tps + tp * 0.5);
    if (tp > 0) {
      const before = this.tps + this.fps;
      const prevP = before > 0 ? this.tps / before : 1;
      this.tps += tp;
      this.fps += fp;
      const p = this.tps / (this.tps + this.fps);
      this.ap += tp * p;
      this.pr += tp * (p + prevP) * 0.5; // the trapezoid's width tp / P is applied once, in result()
    } else {
      this.fps += fp;
    }
  }

  result(): Ranking {
    const { P, N } = this;
    if (!(P > 0)) return { auroc: null, ap: null, auprc: null };
    return { auroc: N > 0 ? this.area / P / N : null, ap: Math.max(0, this.ap / P), auprc: this.pr / P };
  }
}

export function auroc(g: ScoreGroups): number | null {
  return ranking(g).auroc;
}

export function averagePrecision(g: ScoreGroups): number | null {
  return ranking(g).ap;
}

/** Trapezoidal area under the precision–recall points (sklearn `auc(recall, precision)`). */
export function auprc(g: ScoreGroups): number | null {
  return ranking(g).auprc;
}

/** Cumulative counts at each group (descending threshold), zero-weight groups dropped. */
function cumulative(g: ScoreGroups): { tps: Float64Array; fps: Float64Array; thresholds: Float64Array } {
  let n = 0;
  for (let k = 0; k < g.pos.length; k++) if (g.pos[k]! !== 0 || g.neg[k]! !== 0) n++;
  const tps = new Float64Array(n);
  const fps = new Float64Array(n);
  const thresholds = new Float64Array(n);
  let t = 0;
  let f = 0;
  let i = 0;
  for (let k = 0; k < g.pos.length; k++) {
    if (g.pos[k]! === 0 && g.neg[k]! === 0) continue;
    t += g.pos[k]!;
    f += g.neg[k]!;
    tps[i] = t;
    fps[i] = f;
    thresholds[i] = g.thresholds[k]!;
    i++;
  }
  return { tps, fps, thresholds };
}

export interface RocCurve {
  /** False positive rates, increasing; NaN throughout when there are no negatives (as sklearn). */
  fpr: Float64Array;
  /** True positive rates, increasing; NaN throughout when there are no positives. */
  tpr: Float64Array;
  /** Decreasing thresholds; the first is +Infinity (nothing predicted positive). A case is positive when score >= threshold. */
  thresholds: Float64Array;
}

/** sklearn `roc_curve(y, s, drop_intermediate=...)`, point for point. */
export function rocCurve(g: ScoreGroups, opts: { dropIntermediate?: boolean } = {}): RocCurve {
  const c = cumulative(g);
  let keep: number[] | null = null;
  const n = c.tps.length;
  if ((opts.dropIntermediate ?? true) && n > 2) {
    // Keep a point where the second difference of fps or tps is non-zero (a corner), and the ends.
    keep = [0];
    for (let i = 1; i < n - 1; i++) {
      const d2f = c.fps[i + 1]! - 2 * c.fps[i]! + c.fps[i - 1]!;
      const d2t = c.tps[i + 1]! - 2 * c.tps[i]! + c.tps[i - 1]!;
      if (d2f !== 0 || d2t !== 0) keep.push(i);
    }
    keep.push(n - 1);
  }
  const idx = keep ?? Array.from({ length: n }, (_, i) => i);
  const m = idx.length + 1;
  const fpr = new Float64Array(m);
  const tpr = new Float64Array(m);
  const thresholds = new Float64Array(m);
  thresholds[0] = Infinity;
  const P = n ? c.tps[n - 1]! : 0;
  const N = n ? c.fps[n - 1]! : 0;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    fpr[k + 1] = N > 0 ? c.fps[i]! / N : NaN;
    tpr[k + 1] = P > 0 ? c.tps[i]! / P : NaN;
    thresholds[k + 1] = c.thresholds[i]!;
  }
  if (!(N > 0)) fpr[0] = NaN;
  if (!(P > 0)) tpr[0] = NaN;
  return { fpr, tpr, thresholds };
}

export interface PrCurve {
  /** Precision, in sklearn's order (increasing threshold), ending with 1. */
  precision: Float64Array;
  /** Recall, decreasing, ending with 0 (1 throughout when there are no positives, as sklearn). */
  recall: Float64Array;
  /** Increasing thresholds (one fewer than the points). */
  thresholds: Float64Array;
}

/** sklearn `precision_recall_curve(y, s)` (drop_intermediate=False), point for point. */
export function precisionRecallCurve(g: ScoreGroups): PrCurve {
  const c = cumulative(g);
  const n = c.tps.length;
  const P = n ? c.tps[n - 1]! : 0;
  const precision = new Float64Array(n + 1);
  const recall = new Float64Array(n + 1);
  const thresholds = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const j = n - 1 - i;
    const ps = c.tps[j]! + c.fps[j]!;
    precision[i] = ps !== 0 ? c.tps[j]! / ps : 0;
    recall[i] = P > 0 ? c.tps[j]! / P : 1;
    thresholds[i] = c.thresholds[j]!;
  }
  precision[n] = 1;
  recall[n] = 0;
  return { precision, recall, thresholds };
}

/** Confusion counts when a case is called positive at score >= threshold. */
export function confusionAt(g: ScoreGroups, threshold: number): Confusion {
  // Groups are in decreasing score: count those with score >= threshold.
  const t = g.thresholds;
  let lo = 0;
  let hi = t.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]! >= threshold) lo = mid + 1;
    else hi = mid;
  }
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < lo; k++) {
    tp += g.pos[k]!;
    fp += g.neg[k]!;
  }
  return { tp, fp, fn: g.positives - tp, tn: g.negatives - fp };
}
