/**
 * One column's summary: the ranking metrics and confusion counts a per-class report needs, from one
 * sort (groups.ts) and, on the packed path, one walk over the sorted keys (walk.ts). columns.ts does
 * the same for every class of a matrix at once.
 */
import { ranking } from './curves.js';
import { sortColumn } from './groups.js';
import type { ColumnCounts, ColumnView, Confusion, Numbers, Ranking } from './types.js';
import { WALK_FIELDS, rankingOf, walkPacked } from './walk.js';

export interface ColumnSummary extends ColumnCounts {
  /** Confusion counts at the threshold (a case is positive when score >= threshold). */
  confusion: Confusion;
  ranking: Ranking;
}

const RANK_OUT = new Float64Array(WALK_FIELDS);

/**
 * Ranking metrics and the confusion counts at `threshold` of one column, in one sort and one walk
 * over the sorted keys without building the groups: what a per-class report needs.
 */
export function columnSummary(scores: Numbers, labels: Numbers, view: ColumnView | undefined, threshold: number): ColumnSummary {
  const c = sortColumn(scores, labels, view, threshold);
  const { labelled, labelledPositives, nanScores } = c.counts;
  const P = nanScores ? 0 : labelledPositives;
  const N = nanScores ? 0 : labelled - labelledPositives;
  const confusion = nanScores
    ? { tp: 0, fp: 0, tn: 0, fn: 0 }
    : { tp: c.atThreshold.tp, fp: c.atThreshold.predicted - c.atThreshold.tp, fn: P - c.atThreshold.tp, tn: N - (c.atThreshold.predicted - c.atThreshold.tp) };
  let rank: Ranking;
  if (c.packed) {
    const r = RANK_OUT;
    walkPacked(c.packed.sorted, c.packed.m, c.packed.minKey, Infinity, r, 0);
    rank = rankingOf(r, 0);
  } else {
    rank = ranking(c.groups!);
  }
  return { ...c.counts, confusion, ranking: rank };
}
