/**
 * The nouns the metrics share: the score groups every ranking metric is read off, where a class's
 * values sit in a flat array, and the figures (ranking metrics, confusion counts) a column yields.
 * Types only, so that the files that build groups and the files that read them both import from
 * here and not from each other.
 */

export type Numbers = ArrayLike<number>;

/** Where a class's values sit in a flat array: element i is at offset + i * stride. */
export interface ColumnView {
  offset: number;
  stride: number;
  /** Number of elements (rows). */
  length: number;
}

/** Cases of one class grouped by distinct score, in decreasing score order. */
export interface ScoreGroups {
  /** Distinct scores, decreasing. */
  thresholds: Float64Array;
  /** Positives (or their total weight) per group. */
  pos: Float64Array;
  /** Negatives (or their total weight) per group. */
  neg: Float64Array;
  /** Total positives (weight). */
  positives: number;
  /** Total negatives (weight). */
  negatives: number;
}

export interface ColumnCounts {
  /** Labelled cases and, of them, positives (also when NaN scores leave the groups empty). */
  labelled: number;
  labelledPositives: number;
  /** Labels that were neither 0, 1 nor masked (read as positive when >= 0.5). */
  nonBinary: number;
  /** Scores that were NaN: the class cannot be ranked (groups are empty then). */
  nanScores: number;
}

export interface Ranking {
  auroc: number | null;
  /** Average precision (step). */
  ap: number | null;
  /** Trapezoidal AUPRC. */
  auprc: number | null;
}

/** Confusion counts when a case is called positive at score >= threshold. */
export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}
