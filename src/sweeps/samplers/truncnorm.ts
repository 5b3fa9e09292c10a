/**
 * The truncated normal distribution of TPE's kernels (tpe.ts), standardised: the normal restricted
 * to [a, b]. Kernels sit far out in the tails (a kernel narrow beside a bound, a candidate far from
 * a kernel), so everything is computed from log Φ, never from Φ differences that cancel:
 * - log Φ(x) from erfc down to x = −20, an asymptotic series below (exact to double precision);
 * - the log mass log(Φ(b) − Φ(a)) on the left side of 0 (by symmetry when the interval lies right
 *   of it), and from erf's series or as log1p(−Φ(a) − Φ(−b)) when the interval straddles 0;
 * - the inverse CDF by Newton's method on log Φ(x) = y, started from the tail asymptote, solved
 *   in the tail the quantile lies in (mirrored for the upper one) so no digits cancel.
 * SciPy's `truncnorm` is the reference (test/oracle/tpe-optuna.test.ts compares them).
 */
import { erfc } from '../../metrics/delong.js';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/** log φ(x), the standard normal's log density. */
export function normLogPdf(x: number): number {
  return -0.5 * x * x - LOG_SQRT_2PI;
}

/** Φ(x), computed from the side where erfc keeps its relative precision. */
export function ndtr(x: number): number {
  return x < 0 ? 0.5 * erfc(-x / Math.SQRT2) : 1 - 0.5 * erfc(x / Math.SQRT2);
}

/**
 * log Φ(x) by the asymptotic series Φ(x) = φ(x)/(−x) · Σ_k (−1)^k (2k−1)!! / x^{2k}, for x ≪ 0
 * (the terms shrink while 2k − 1 < x², so by x = −20 the series is exact long before it diverges).
 */
function logNdtrFarLeft(x: number): number {
  const inv = 1 / (x * x);
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 100; k++) {
    term *= -(2 * k - 1) * inv;
    const next = sum + term;
    if (next === sum) break;
    sum = next;
  }
  return normLogPdf(x) - Math.log(-x) + Math.log(sum);
}

/** log Φ(x), accurate in both tails (log1p of the upper tail right of 0). */
export function logNdtr(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x > 0) return Math.log1p(-ndtr(-x));
  if (x > -20) return Math.log(ndtr(x));
  return logNdtrFarLeft(x);
}

/** log(e^p + e^q). */
function logAddExp(p: number, q: number): number {
  const m = Math.max(p, q);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(Math.exp(p - m) + Math.exp(q - m));
}

/** log(e^p − e^q) for q ≤ p. */
function logSubExp(p: number, q: number): number {
  if (q === -Infinity) return p;
  return p + Math.log1p(-Math.exp(q - p));
}

/** erf(x) for 0 ≤ x < 2 by its series of positive terms (A&S 7.1.6): full relative precision near 0, where 1 − erfc(x) has none. */
function erfSmall(x: number): number {
  let term = x;
  let sum = x;
  const x2 = 2 * x * x;
  for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
    term *= x2 / (2 * n + 1);
    sum += term;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/**
 * log(Φ(b) − Φ(a)): the log of the standard normal's mass on [a, b]. An interval on one side of 0
 * is a difference of log Φ in the left tail; one around 0 is ½(erf(b/√2) + erf(−a/√2)), a sum of
 * positive terms, when both ends are near 0, and 1 − Φ(a) − Φ(−b) (at least ½ of mass) otherwise.
 */
export function logGaussMass(a: number, b: number): number {
  if (b <= 0) return logSubExp(logNdtr(b), logNdtr(a));
  if (a > 0) return logSubExp(logNdtr(-a), logNdtr(-b));
  const s = -a / Math.SQRT2;
  const t = b / Math.SQRT2;
  if (s < 2 && t < 2) return Math.log(0.5 * (erfSmall(s) + erfSmall(t)));
  return Math.log1p(-ndtr(a) - ndtr(-b));
}

/** A starting point for x with log Φ(x) = y < log ½: the tail asymptote far out, a logistic fit nearer. */
function ndtriExpGuess(y: number): number {
  if (y < -5) return -Math.sqrt(-2 * (y + LOG_SQRT_2PI));
  return -(Math.sqrt(3) / Math.PI) * Math.log(Math.expm1(-y));
}

/**
 * The x with log Φ(x) = y (y ≤ 0): the normal quantile of e^y without ever forming e^y. Newton's
 * method on the concave log Φ converges from either side; a y near 0 (x ≫ 0) is solved as
 * log Φ(−x) = log(1 − e^y) instead.
 */
export function ndtriExp(y: number): number {
  if (Number.isNaN(y) || y > 0) return NaN;
  if (y === 0) return Infinity;
  if (y === -Infinity) return -Infinity;
  const flip = y > -1e-2;
  const target = flip ? Math.log(-Math.expm1(y)) : y;
  let x = ndtriExpGuess(target);
  for (let i = 0; i < 100; i++) {
    const logPhi = logNdtr(x);
    const dx = (logPhi - target) * Math.exp(logPhi - normLogPdf(x));
    x -= dx;
    if (!(Math.abs(dx) > 1e-14 * Math.max(1, Math.abs(x)))) break;
  }
  return flip ? -x : x;
}

/**
 * The quantile q ∈ [0, 1] of the standard normal truncated to [a, b] (a < b): the x with
 * Φ(x) = Φ(a) + q·(Φ(b) − Φ(a)), equally Φ(−x) = Φ(−b) + (1 − q)·(Φ(b) − Φ(a)). Solved in log
 * space from whichever of the two is the smaller (the tail x lies in), so neither a quantile near 1
 * nor an interval far right of 0 loses digits. Clamped to [a, b] against the last rounding. (Around
 * 0, Φ(x) itself is only good to 1e-16, so an interval narrower than about 1e-6 places x to about
 * 1e-16 / (b − a) of its width; TPE's kernels span at least one standard deviation.)
 */
export function truncnormPpf(q: number, a: number, b: number): number {
  if (!(a < b) || !(q >= 0 && q <= 1)) return NaN;
  if (q === 0) return a;
  if (q === 1) return b;
  const logMass = logGaussMass(a, b);
  const logLower = logAddExp(logNdtr(a), Math.log(q) + logMass);
  const logUpper = logAddExp(logNdtr(-b), Math.log1p(-q) + logMass);
  const x = logLower <= logUpper ? ndtriExp(logLower) : -ndtriExp(logUpper);
  return Math.min(b, Math.max(a, x));
}

/**
 * log density at x of the normal (loc, scale) truncated to [loc + a·scale, loc + b·scale] (a and b
 * standardised, as SciPy's `truncnorm.logpdf(x, a, b, loc, scale)`): −∞ outside.
 */
export function truncnormLogPdf(x: number, a: number, b: number, loc = 0, scale = 1): number {
  const z = (x - loc) / scale;
  if (!(a < b)) return NaN;
  if (z < a || z > b) return -Infinity;
  return normLogPdf(z) - logGaussMass(a, b) - Math.log(scale);
}
