/**
 * The one seeded random generator (seedrandom's Alea), passed down to everything that draws random
 * numbers. Its state can be saved and restored, so a resumed run draws exactly what an
 * uninterrupted one would have. `fork(label)` derives an independent stream (for a worker, an
 * epoch, a component) that does not depend on how many numbers the parent has drawn.
 */
import seedrandom from 'seedrandom';

/** `spare` is the second normal of a Box–Muller pair not yet returned (absent when none). */
/** Alea's internal state (seedrandom's State.Alea), spelled out so the published types need no @types/seedrandom. */
export interface AleaState {
  c: number;
  s0: number;
  s1: number;
  s2: number;
}

export type RngState = { seed: string; alea: AleaState; spare?: number | null };

export class Rng {
  readonly seed: string;
  private prng: seedrandom.StatefulPRNG<seedrandom.State.Alea>;
  private spare: number | null = null;

  constructor(seed: string | number, state?: AleaState) {
    this.seed = String(seed);
    this.prng = seedrandom.alea(this.seed, { state: state ?? true });
  }

  static fromState(s: RngState): Rng {
    const r = new Rng(s.seed, s.alea);
    r.spare = s.spare ?? null;
    return r;
  }

  state(): RngState {
    return { seed: this.seed, alea: this.prng.state(), ...(this.spare !== null && { spare: this.spare }) };
  }

  /** Continue from a saved state in place (for holders of this generator: a resumed run). */
  setState(s: RngState): void {
    if (s.seed !== this.seed) throw new Error(`Rng.setState: state of seed '${s.seed}' given to the generator of seed '${this.seed}'`);
    this.prng = seedrandom.alea(this.seed, { state: s.alea });
    this.spare = s.spare ?? null;
  }

  /** A new generator whose stream depends only on this generator's seed and the label. */
  fork(label: string | number): Rng {
    return new Rng(`${this.seed}/${label}`);
  }

  /** Uniform in [0, 1), 53 bits. */
  next(): number {
    return this.prng.double();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(mean = 0, std = 1): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return mean + std * v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return mean + std * r * Math.cos(2 * Math.PI * v);
  }

  /** True with probability p. */
  bernoulli(p: number): boolean {
    return this.next() < p;
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }

  /** A permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** A 32-bit integer seed for libraries that take one (tfjs initialisers). */
  int32(): number {
    return this.prng.int32() >>> 0;
  }
}
