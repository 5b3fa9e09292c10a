/**
 * Operating thresholds per class, chosen on validation predictions and then applied to test
 * predictions (choosing on the test set itself flatters every score computed at it).
 *
 * A case is called positive when its score >= the threshold, as sklearn's curves do. Candidate
 * thresholds are the distinct validation scores; when several are equally good the highest wins
 * (the first in sklearn's decreasing order, as `thresholds[argmax(...)]` picks). Comparisons are
 * made in exact integer arithmetic, so ties are real ties.
 * - 'youden': maximise Youden's J = sensitivity + specificity − 1 = tpr − fpr.
 * - 'balanced': the point where sensitivity equals specificity (tpr = 1 − fpr), i.e. minimise
 *   |tpr − (1 − fpr)|; also called the equal-error-rate point.
 * - 'f1' / {fbeta: β}: maximise F-beta over the precision–recall points.
 * - a number: that threshold for every class (0.5 is the reference codebase's).
 * A class whose validation labels cannot support the choice (Youden and balanced need positives
 * and negatives; F-beta needs positives) gets null; `chooseThresholds` falls back then.
 */
import { MedtrainError } from '../util/errors.js';
import { scoreGroups } from './groups.js';
import { checkMatrix } from './report.js';
import type { Numbers, ScoreGroups } from './types.js';

export type ThresholdMethod = 'youden' | 'balanced' | 'f1' | { fbeta: number } | number;

export function chooseThreshold(g: ScoreGroups, method: ThresholdMethod): number | null {
  if (typeof method === 'number') return method;
  const P = g.positives;
  const N = g.negatives;
  const t = g.thresholds;
  let best = -1;
  let tps = 0;
  let fps = 0;
  if (method === 'youden' || method === 'balanced') {
    if (!(P > 0 && N > 0)) return null;
    // Youden: maximise tps·N − fps·P. Balanced: minimise |tps·N + fps·P − P·N|.
    let bestVal = -Infinity;
    for (let k = 0; k < t.length; k++) {
      tps += g.pos[k]!;
      fps += g.neg[k]!;
      if (g.pos[k] === 0 && g.neg[k] === 0) continue;
      const v = method === 'youden' ? tps * N - fps * P : -Math.abs(tps * N + fps * P - P * N);
      if (v > bestVal) {
        bestVal = v;
        best = k;
      }
    }
  } else {
    const beta = method === 'f1' ? 1 : method.fbeta;
    if (!(beta > 0) || !Number.isFinite(beta)) throw new MedtrainError('F-beta needs a finite beta > 0', { code: 'bad-threshold', value: beta });
    if (!(P > 0)) return null;
    const b2 = beta * beta;
    // F = (1+b²)·tps / (b²·P + tps + fps): compare fractions by cross-multiplication.
    let bestNum = -1;
    let bestDen = 1;
    for (let k = 0; k < t.length; k++) {
      tps += g.pos[k]!;
      fps += g.neg[k]!;
      if (g.pos[k] === 0 && g.neg[k] === 0) continue;
      const num = (1 + b2) * tps;
      const den = b2 * P + tps + fps;
      if (num * bestDen > bestNum * den) {
        bestNum = num;
        bestDen = den;
        best = k;
      }
    }
  }
  return best >= 0 ? t[best]! : null;
}

/** Parse a threshold method as written on a command line: youden, balanced (eer, tpr=1-fpr), f1, f<beta>, or a number. */
export function parseThresholdMethod(text: string): ThresholdMethod {
  const s = text.trim().toLowerCase();
  if (s === 'youden' || s === 'j') return 'youden';
  if (s === 'balanced' || s === 'eer' || s === 'tpr=1-fpr' || s === 'sens=spec') return 'balanced';
  if (s === 'f1') return 'f1';
  const fb = /^f(\d+(?:\.\d+)?)$/.exec(s);
  if (fb) return { fbeta: Number(fb[1]) };
  const n = Number(s);
  if (s !== '' && Number.isFinite(n)) return n;
  throw new MedtrainError('unknown threshold method', {
    code: 'bad-threshold',
    value: text,
    hint: 'use youden, balanced (tpr = 1 - fpr), f1, f<beta> (e.g. f2), a number such as 0.5, or one number per class separated by commas',
  });
}

export function describeThresholdMethod(m: ThresholdMethod): string {
  if (typeof m === 'number') return String(m);
  if (typeof m === 'string') return m;
  return `f${m.fbeta}`;
}

export interface ChosenThresholds {
  /** One threshold per class. */
  thresholds: number[];
  /** Classes whose labels could not support the method and fell back to `fallback`. */
  fellBack: string[];
}

/**
 * One threshold per class of a [rows, classes] matrix of validation predictions. A class that
 * cannot support the method (see chooseThreshold) gets `fallback` (default 0.5) and is named in
 * `fellBack`.
 */
export function chooseThresholds(
  scores: Numbers,
  labels: Numbers,
  numClasses: number,
  method: ThresholdMethod,
  opts: { classNames?: readonly string[]; fallback?: number } = {},
): ChosenThresholds {
  const [rows, names] = checkMatrix(scores, labels, numClasses, opts.classNames);
  const thresholds: number[] = [];
  const fellBack: string[] = [];
  for (let c = 0; c < numClasses; c++) {
    const g = scoreGroups(scores, labels, { offset: c, stride: numClasses, length: rows });
    const t = g.nanScores ? null : chooseThreshold(g, method);
    if (t === null) fellBack.push(names[c]!);
    thresholds.push(t ?? opts.fallback ?? 0.5);
  }
  return { thresholds, fellBack };
}
