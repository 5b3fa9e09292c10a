/**
 * From raw label cells to training targets, and what they add up to: the blank policy (its one
 * grammar), "No Finding implies negative", the encoding of a table's rows for the selected classes,
 * per-class statistics and the upsampling factors of `_Upsampled`.
 *
 * Raw cells: 1 positive, 0 negative, −1 uncertain, NaN blank. Encoded: 1 / 0 / a smoothed value in
 * between, or MASKED (−1) for "not labelled" (losses and metrics skip it).
 */
import { isPositive, MASKED, type CaseRecord, type ClassStats } from '../../core/types.js';
import { MedtrainError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';
import { findClass, type ResolvedClasses } from './classes.js';
import { LSR_ONES, LSR_ZEROS, resolveUncertainty, type Uncertainty, type UncertaintyLists } from './uncertainty.js';

/** Blank (not mentioned) cells: 0 (the common default) or masked (not labelled). */
export type BlankPolicy = 'zero' | 'mask';
export const BLANK_POLICIES: readonly BlankPolicy[] = ['zero', 'mask'];
export const BLANK_SYNTAX = "zero (blank → 0; also zeros, 0) or mask (blank → not labelled; also masked, ignore); in a name BlankZero, BlankMask";

/** The one blank-policy parser: flags, config and the name token's word after Blank. */
export function parseBlankPolicy(text: string): BlankPolicy {
  const t = text.trim().toLowerCase().replace(/^blank-?/, '');
  if (t === 'zero' || t === 'zeros' || t === '0') return 'zero';
  if (t === 'mask' || t === 'masked' || t === 'ignore') return 'mask';
  throw new MedtrainError('unknown blank policy', { code: 'bad-blank', value: text, hint: `use ${BLANK_SYNTAX}` });
}

export interface EncodeOptions {
  /** Default 'ignore' (uncertain cells masked). */
  uncertainty?: string | Uncertainty | UncertaintyLists;
  /** Default 'zero'. */
  blank?: BlankPolicy;
  /** When the row's No Finding is 1, blank findings are 0 whatever the blank policy. */
  noFindingImpliesNegative?: boolean;
  /** Needed for the LSR encodings (their values are drawn once, seeded). */
  rng?: Rng;
}

/** Encode records' raw cells for the selected classes: Float32Array [n × C], MASKED where not labelled. */
export function encodeLabels(records: readonly CaseRecord[], classes: ResolvedClasses, opts: EncodeOptions = {}): Float32Array {
  const C = classes.names.length;
  const modes = resolveUncertainty(opts.uncertainty, classes.names);
  const blankValue = (opts.blank ?? 'zero') === 'zero' ? 0 : MASKED;
  let noFinding = -1;
  if (opts.noFindingImpliesNegative) {
    noFinding = findClass(classes.tableClasses, 'No Finding');
    if (noFinding < 0) throw new MedtrainError("'No Finding implies negative' needs a No Finding column", { code: 'bad-option', hint: `the table's classes: ${classes.tableClasses.join(', ')}` });
  }
  const rng = opts.rng;
  if (!rng && modes.some((m) => m.startsWith('lsr'))) throw new MedtrainError('the LSR encodings need a seeded Rng (opts.rng)', { code: 'bad-option' });
  const out = new Float32Array(records.length * C);
  for (let r = 0; r < records.length; r++) {
    const raw = records[r]!.raw;
    const nf = noFinding >= 0 && raw[noFinding] === 1;
    for (let k = 0; k < C; k++) {
      const v = raw[classes.columns[k]!]!;
      let y: number;
      if (v === 1) y = 1;
      else if (v === 0) y = 0;
      else if (v === -1) {
        switch (modes[k]!) {
          case 'ignore':
            y = MASKED;
            break;
          case 'zeros':
            y = 0;
            break;
          case 'ones':
            y = 1;
            break;
          case 'lsr-ones':
            y = rng!.uniform(LSR_ONES[0], LSR_ONES[1]);
            break;
          case 'lsr-zeros':
            y = rng!.uniform(LSR_ZEROS[0], LSR_ZEROS[1]);
            break;
        }
      } else y = nf ? 0 : blankValue;
      out[r * C + k] = y;
    }
  }
  return out;
}

/**
 * Per-class counts: `uncertain` and `blank` count raw cells; `positive` (encoded ≥ 0.5), `negative`
 * (encoded < 0.5) and `masked` count after encoding. Keyed by class name, in class order.
 */
export function classStats(records: readonly CaseRecord[], encoded: Float32Array, classes: ResolvedClasses): Record<string, ClassStats> {
  const C = classes.names.length;
  if (encoded.length !== records.length * C) throw new Error(`classStats: ${encoded.length} labels for ${records.length} records × ${C} classes`);
  const stats = classes.names.map(() => ({ positive: 0, negative: 0, uncertain: 0, blank: 0, masked: 0 }));
  for (let r = 0; r < records.length; r++) {
    const raw = records[r]!.raw;
    for (let k = 0; k < C; k++) {
      const s = stats[k]!;
      const v = raw[classes.columns[k]!]!;
      if (v === -1) s.uncertain++;
      else if (Number.isNaN(v)) s.blank++;
      const y = encoded[r * C + k]!;
      if (y === MASKED) s.masked++;
      else if (y >= 0.5) s.positive++;
      else s.negative++;
    }
  }
  return Object.fromEntries(classes.names.map((n, k) => [n, stats[k]!]));
}

/**
 * Per-class upsampling factors for `_Upsampled`: classes with fewer positives than the median class
 * get median / positives (at most `maxFactor`, default 4), the others 1. For the generator's
 * `upsample` option, which appends that many copies of each positive row (fractions as a seeded subset).
 */
export function upsamplingFactors(labels: Float32Array, numClasses: number, opts: { maxFactor?: number } = {}): number[] {
  const maxFactor = opts.maxFactor ?? 4;
  const pos = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) if (isPositive(labels[i]!)) pos[i % numClasses]!++;
  const sorted = [...pos].sort((a, b) => a - b);
  const median = numClasses % 2 ? sorted[(numClasses - 1) / 2]! : (sorted[numClasses / 2 - 1]! + sorted[numClasses / 2]!) / 2;
  return pos.map((p) => (p > 0 && p < median ? Math.min(maxFactor, median / p) : 1));
}

/** Rows of an [n × C] label matrix, in the order of `indices`. */
export function selectRows(labels: Float32Array, numClasses: number, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * numClasses);
  for (let i = 0; i < indices.length; i++) out.set(labels.subarray(indices[i]! * numClasses, (indices[i]! + 1) * numClasses), i * numClasses);
  return out;
}
