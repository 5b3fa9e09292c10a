/**
 * The epoch plan: which records an epoch visits, in which order, in how many batches. Every
 * function here is pure: the plan of epoch e depends only on (seed, e, labels, options), which is
 * what makes a resumed run see exactly the batches of an uninterrupted one.
 *
 * - Upsampling (per class c, factor f >= 1): every positive row of c appears floor(f) times in all,
 *   plus round(frac(f) × positives) more drawn from Rng(seed).fork('upsample'); the copies are
 *   appended after the original rows (as `_Upsampled`).
 * - Order of epoch e, from Rng(seed).fork(`order/${e}`): class-balanced draws (each sample draws a
 *   class, or "no positive label", uniformly, then one of its rows), a permutation (shuffle), or
 *   the rows as they are.
 * - Drop-last: the last incomplete batch is left out.
 *
 * Rows are record indices; labels are row-major [records, numClasses], MASKED where not labelled.
 */
import { isPositive } from '../core/types.js';
import { MedtrainError } from '../util/errors.js';
import { Rng } from '../util/rng.js';

export interface SamplingOptions {
  numClasses: number;
  seed: string;
  shuffle: boolean;
  balanced: boolean;
  /** Per-class upsampling factors (resolveUpsample), or null for none. */
  upsample: readonly number[] | null;
}

/** Per-class upsampling factors, one per class (1 where not named), from factors by class name or by index. */
export function resolveUpsample(spec: Readonly<Record<string, number>> | readonly number[], numClasses: number, names?: readonly string[]): number[] {
  const f = Array<number>(numClasses).fill(1);
  const entries: [number, number][] = Array.isArray(spec)
    ? (spec as readonly number[]).map((v, i) => [i, v])
    : Object.entries(spec).map(([name, v]) => {
        const i = names ? names.findIndex((n) => n.toLowerCase() === name.toLowerCase()) : -1;
        if (i < 0) throw new MedtrainError('upsampling names an unknown class', { code: 'bad-option', value: name, hint: names ? `classes: ${names.join(', ')}` : 'pass classNames with upsampling by name' });
        return [i, v as number];
      });
  for (const [i, v] of entries) {
    if (i >= numClasses || !(v >= 1)) throw new MedtrainError('upsampling factors must be >= 1, one per class', { code: 'bad-option', value: v });
    f[i] = v;
  }
  return f;
}

/** The rows every epoch draws from: the usable records, then the upsampled copies. */
export function epochRows(usable: Int32Array, labels: Float32Array, o: Pick<SamplingOptions, 'numClasses' | 'seed' | 'upsample'>): Int32Array {
  const rows = Array.from(usable);
  if (o.upsample) {
    const C = o.numClasses;
    const rng = new Rng(o.seed).fork('upsample');
    for (let c = 0; c < C; c++) {
      const f = o.upsample[c]!;
      if (f <= 1) continue;
      const pos = Array.from(usable).filter((r) => isPositive(labels[r * C + c]!));
      for (let k = 1; k < Math.floor(f); k++) rows.push(...pos);
      const extra = Math.round((f - Math.floor(f)) * pos.length);
      if (extra > 0) rows.push(...rng.shuffle([...pos]).slice(0, extra).sort((a, b) => a - b));
    }
  }
  return Int32Array.from(rows);
}

/** The labels of `rows`, in their order: [rows, numClasses] (after upsampling: what class weights are computed on). */
export function rowLabels(rows: Int32Array, labels: Float32Array, numClasses: number): Float32Array {
  const C = numClasses;
  const out = new Float32Array(rows.length * C);
  rows.forEach((r, i) => out.set(labels.subarray(r * C, (r + 1) * C), i * C));
  return out;
}

/** The rows of epoch e (from epochRows), in batch order. */
export function epochOrder(rows: Int32Array, labels: Float32Array, epoch: number, o: SamplingOptions): Int32Array {
  if (o.balanced) return balancedOrder(rows, labels, o.numClasses, new Rng(o.seed).fork(`order/${epoch}`));
  if (!o.shuffle) return Int32Array.from(rows);
  const perm = new Rng(o.seed).fork(`order/${epoch}`).permutation(rows.length);
  return perm.map((p) => rows[p]!);
}

/** As many draws as rows: a pool (a class's positive rows, or the rows with none) uniformly, then a row of it. */
function balancedOrder(rows: Int32Array, labels: Float32Array, C: number, rng: Rng): Int32Array {
  const byClass: number[][] = Array.from({ length: C + 1 }, () => []);
  for (const r of rows) {
    let any = false;
    for (let c = 0; c < C; c++) {
      if (isPositive(labels[r * C + c]!)) {
        byClass[c]!.push(r);
        any = true;
      }
    }
    if (!any) byClass[C]!.push(r);
  }
  const pools = byClass.filter((p) => p.length > 0);
  const out = new Int32Array(rows.length);
  for (let i = 0; i < out.length; i++) {
    const p = pools[rng.int(pools.length)]!;
    out[i] = p[rng.int(p.length)]!;
  }
  return out;
}

/** Batches in an epoch of `rows` rows. */
export function batchCount(rows: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(rows / batchSize) : Math.ceil(rows / batchSize);
}
