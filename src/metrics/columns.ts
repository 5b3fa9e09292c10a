/**
 * Ranking metrics and confusion counts of every class of a row-major [rows, classes] matrix: what
 * a per-class report needs, for all classes at once.
 *
 * Float32 scores (model outputs) take the fast path: a row-major sweep writes each class's packed
 * keys (float32 bits << 1 | label) side by side, then each class is radix-sorted and walked
 * (columns-sweep.ts). On a machine with more than one core and a large matrix, a helper thread
 * does half of the classes (columns-helper.ts); the figures are the same either way.
 *
 * Other inputs (float64 scores, and classes with negative or NaN scores) go through
 * `columnSummary` one column at a time.
 */
import { MAX_SHARED_CLASSES, rankWithHelper, readyHelper } from './columns-helper.js';
import { STATS, rankClass, scratchFor, setThresholds, sweep, type Scratch } from './columns-sweep.js';
import { columnSummary, type ColumnSummary } from './column-summary.js';
import type { Numbers } from './types.js';
import { WALK_FIELDS, rankingOf } from './walk.js';

/** Matrices smaller than this (elements) are done on one thread: the hand-off would cost more than it saves. */
export const PARALLEL_MIN_ELEMENTS = 1 << 20;

/**
 * Per-class summaries of a [rows, classes] matrix (as `columnSummary` of each column); a case is
 * predicted positive at class c when its score >= thresholds[c].
 */
export function summarizeColumns(scores: Numbers, labels: Numbers, numClasses: number, thresholds: readonly number[]): ColumnSummary[] {
  const C = numClasses;
  const rows = scores.length / C;
  const view = (c: number) => ({ offset: c, stride: C, length: rows });
  if (!(scores instanceof Float32Array) || rows === 0) return Array.from({ length: C }, (_, c) => columnSummary(scores, labels, view(c), thresholds[c]!));
  const h = rows * C >= PARALLEL_MIN_ELEMENTS && C > 1 && C <= MAX_SHARED_CLASSES ? readyHelper() : null;
  const s = (h && rankWithHelper(h, scores, labels, rows, C, thresholds)) || rankAlone(scores, labels, rows, C, thresholds);
  return Array.from({ length: C }, (_, c) => {
    const st = c * STATS;
    if (s.stats[st + 4]) return columnSummary(scores, labels, view(c), thresholds[c]!);
    const o = c * WALK_FIELDS;
    const m = s.stats[st]!;
    const P = s.results[o + 3]!;
    const tp = s.results[o + 4]!;
    const fp = s.results[o + 5]! - tp;
    return {
      labelled: m,
      labelledPositives: P,
      nonBinary: s.stats[st + 3]!,
      nanScores: 0,
      confusion: { tp, fp, fn: P - tp, tn: m - P - fp },
      ranking: rankingOf(s.results, o),
    };
  });
}

function rankAlone(scores: Float32Array, labels: Numbers, rows: number, C: number, thresholds: readonly number[]): Scratch {
  const s = scratchFor(rows * C, C, null);
  setThresholds(s, thresholds, C);
  sweep(new Uint32Array(scores.buffer, scores.byteOffset, scores.length), labels, rows, C, 0, C, s.keys, s.stats);
  for (let c = 0; c < C; c++) if (!s.stats[c * STATS + 4]) rankClass(s, rows, c);
  return s;
}
