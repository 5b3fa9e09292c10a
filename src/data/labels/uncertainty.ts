/**
 * The uncertainty grammar: what an uncertain label (CheXpert's −1) becomes. One parser for every
 * place that reads an encoding: benchmark names (`_Uones`, `_U75`), the `--uncertainty` flag of
 * train and inspect-data, config.json and library options.
 *
 *   ignore (or mask)          masked: left out of loss and metrics (U-Ignore)
 *   zeros, ones               0 or 1 (U-Zeros, U-Ones)
 *   lsr-ones, lsr-zeros       seeded label smoothing: uniform in [0.55, 0.85] or [0, 0.3] (Pham et al. 2020)
 *   U<z><o>                   the first z classes of the class set, in its order, to 0 and the last o
 *                             to 1, z + o = the number of classes: the digits are split where the two
 *                             counts add up (U75 with 12 classes is 7 + 5; U104 with 14 is 10 + 4).
 *                             `U<z>-<o>` says the split outright (needed only where the digits split
 *                             two ways, as U111 with 12 classes).
 *   zeros=A,B;ones=C;…        per-class lists (zeros, ones, ignore, lsr-ones, lsr-zeros); classes in no
 *                             list take `default=` (ignore unless given). Not writable in a name.
 *
 * Words take an optional `U` or `U-` prefix (Uones, U-Zeros, ULSRones) and any case; zeroes = zeros.
 * The class sets' orders for U<z><o>: N5 Atelectasis, Cardiomegaly, Consolidation, Edema, Pleural
 * Effusion (so U32 puts Edema and Pleural Effusion to 1); N12, N14 and 'all' the table's column order;
 * a custom list its own order.
 */
import { MedtrainError } from '../../util/errors.js';
import { findClass } from './classes.js';

export type UncertaintyMode = 'ignore' | 'zeros' | 'ones' | 'lsr-ones' | 'lsr-zeros';
export const UNCERTAINTY_MODES: readonly UncertaintyMode[] = ['ignore', 'zeros', 'ones', 'lsr-ones', 'lsr-zeros'];

/** Per-class lists; classes in no list take `default` ('ignore' unless given). */
export interface UncertaintyLists {
  zeros?: readonly string[];
  ones?: readonly string[];
  ignore?: readonly string[];
  lsrOnes?: readonly string[];
  lsrZeros?: readonly string[];
  default?: UncertaintyMode;
}

/** An encoding: one mode for every class, a split by count (U<z><o>), or per-class lists. */
export type Uncertainty = { kind: UncertaintyMode } | { kind: 'mixed'; zeros: number; ones: number } | ({ kind: 'lists' } & UncertaintyLists);

/** LSR ranges (Pham et al. 2020): uncertain → uniform in these. */
export const LSR_ONES: readonly [number, number] = [0.55, 0.85];
export const LSR_ZEROS: readonly [number, number] = [0, 0.3];

/** One line for messages and --help. */
export const UNCERTAINTY_SYNTAX =
  "ignore, zeros, ones, lsr-ones or lsr-zeros (with or without a U prefix: Uones, U-Zeros, ULSRones), U<z><o> (the first z classes to 0, the last o to 1, z + o = the number of classes: U75, U104; U<z>-<o> where the digits split two ways), or per-class lists 'zeros=A,B;ones=C;default=ignore'";

const LIST_KEYS: Record<string, keyof Omit<UncertaintyLists, 'default'>> = { zeros: 'zeros', ones: 'ones', ignore: 'ignore', 'lsr-ones': 'lsrOnes', 'lsr-zeros': 'lsrZeros' };

function bad(message: string, value: unknown, hint = `use ${UNCERTAINTY_SYNTAX}`): MedtrainError {
  return new MedtrainError(message, { code: 'bad-uncertainty', value: typeof value === 'string' ? value : JSON.stringify(value), hint });
}

/** The mode a word names ('Uones', 'U-Zeros', 'zeroes', 'lsrones', 'mask', …), or null. */
function modeOf(word: string): UncertaintyMode | null {
  const t = word.trim().toLowerCase().replace(/_/g, '-').replace(/^u-?(?=[a-z])/, '');
  if (t === 'ignore' || t === 'mask') return 'ignore';
  if (t === 'zeros' || t === 'zeroes' || t === 'zero') return 'zeros';
  if (t === 'ones' || t === 'one') return 'ones';
  if (t === 'lsr-ones' || t === 'lsrones') return 'lsr-ones';
  if (t === 'lsr-zeros' || t === 'lsr-zeroes' || t === 'lsrzeros' || t === 'lsrzeroes') return 'lsr-zeros';
  return null;
}

/** Whether a lower-case name token has an encoding's shape (U…, but not Upsampled). */
export function isUncertaintyToken(lower: string): boolean {
  return /^u(?:-?[a-z-]+|\d[\d-]*)$/.test(lower) && lower !== 'upsampled';
}

/** The splits of U<digits> into zeros + ones = n. */
function splitsOf(digits: string, n: number): { zeros: number; ones: number }[] {
  const fits: { zeros: number; ones: number }[] = [];
  for (let k = 1; k < digits.length; k++) {
    const zeros = Number(digits.slice(0, k));
    const ones = Number(digits.slice(k));
    if (zeros + ones === n) fits.push({ zeros, ones });
  }
  return fits;
}

/** Split U<z><o> digits into z + o = n; the split must be unique. */
export function splitMixedCounts(digits: string, n: number): { zeros: number; ones: number } {
  const fits = splitsOf(digits, n);
  if (fits.length !== 1) {
    const spelled = fits.map((f) => `U${f.zeros}-${f.ones}`).join(' or ');
    throw bad(fits.length ? `U${digits} is ambiguous for ${n} classes (${spelled})` : `U${digits} does not split into zeros + ones = ${n} classes`, `U${digits}`, fits.length ? `write ${spelled}` : `U<z><o> maps the first z classes to 0 and the last o to 1, with z + o = the number of classes (${n}); or name the classes: zeros=A,B;ones=C`);
  }
  return fits[0]!;
}

function parseLists(spec: string): Uncertainty {
  const lists: { kind: 'lists' } & { -readonly [K in keyof UncertaintyLists]: UncertaintyLists[K] } = { kind: 'lists' };
  for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
    const [name = '', list = ''] = part.split('=', 2);
    if (name.trim().toLowerCase() === 'default') {
      const d = modeOf(list);
      if (!d) throw bad('unknown uncertainty mode', list);
      lists.default = d;
      continue;
    }
    const m = modeOf(name);
    if (!m) throw bad('unknown uncertainty mode', name);
    lists[LIST_KEYS[m]!] = list.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return lists;
}

/**
 * Read an encoding: a word, U<z><o> (needs `classCount`, the number of classes of the class set), per-class
 * lists as text, or an object (as config.json stores it), checked. Throws MedtrainError 'bad-uncertainty'.
 */
export function parseUncertainty(spec: string | Uncertainty | UncertaintyLists, classCount?: number): Uncertainty {
  if (typeof spec !== 'string') return checkUncertainty(spec, classCount);
  const mode = modeOf(spec);
  if (mode) return { kind: mode };
  const t = spec.trim();
  const dashed = /^u-?(\d+)-(\d+)$/i.exec(t);
  if (dashed) return checkUncertainty({ kind: 'mixed', zeros: Number(dashed[1]), ones: Number(dashed[2]) }, classCount);
  const digits = /^u-?(\d+)$/i.exec(t);
  if (digits) {
    if (classCount === undefined) throw bad(`U${digits[1]} needs the number of classes to be read`, t, 'give the class set (N5, N12, N14) or the class list');
    return { kind: 'mixed', ...splitMixedCounts(digits[1]!, classCount) };
  }
  if (t.includes('=')) return parseLists(t);
  throw bad('unknown uncertainty encoding', spec);
}

/** Check an encoding object (from JSON or code); a mixed split must add up to `classCount` when given. */
export function checkUncertainty(u: unknown, classCount?: number): Uncertainty {
  const o = u as Record<string, unknown> | null;
  if (!o || typeof o !== 'object') throw bad('an uncertainty encoding must be a word or an object', u);
  if (!('kind' in o)) return checkUncertainty({ kind: 'lists', ...o }); // UncertaintyLists as library options give them
  if ((UNCERTAINTY_MODES as readonly unknown[]).includes(o.kind)) return { kind: o.kind as UncertaintyMode };
  if (o.kind === 'mixed') {
    const { zeros, ones } = o as { zeros: number; ones: number };
    if (![zeros, ones].every((x) => Number.isSafeInteger(x) && x >= 0)) throw bad('a mixed encoding counts zeros and ones with whole numbers', u);
    if (classCount !== undefined && zeros + ones !== classCount) {
      throw new MedtrainError(`the mixed encoding ${uncertaintyToken({ kind: 'mixed', zeros, ones }, zeros + ones)} maps ${zeros + ones} classes, but there are ${classCount}`, {
        code: 'uncertainty-classes',
        value: `${zeros}+${ones}`,
        hint: `choose zeros + ones = ${classCount}, or another class set`,
      });
    }
    return { kind: 'mixed', zeros, ones };
  }
  if (o.kind === 'lists') {
    const out: { kind: 'lists' } & Record<string, unknown> = { kind: 'lists' };
    for (const k of ['zeros', 'ones', 'ignore', 'lsrOnes', 'lsrZeros'] as const) {
      const v = o[k];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x.trim())) throw bad(`uncertainty list '${k}' must be a list of class names`, u);
      out[k] = [...(v as string[])];
    }
    if (o.default !== undefined) {
      if (!(UNCERTAINTY_MODES as readonly unknown[]).includes(o.default)) throw bad('unknown default uncertainty mode', o.default);
      out.default = o.default;
    }
    return out as Uncertainty;
  }
  throw bad('unknown uncertainty encoding', u);
}

/**
 * The encoding as a name token: Uignore, Uzeroes, Uones, ULSRones, ULSRzeroes, U<z><o> (U<z>-<o> where
 * the digits would split two ways). Per-class lists have no token: null.
 */
export function uncertaintyToken(u: Uncertainty, classCount: number): string | null {
  switch (u.kind) {
    case 'ignore':
      return 'Uignore';
    case 'zeros':
      return 'Uzeroes';
    case 'ones':
      return 'Uones';
    case 'lsr-ones':
      return 'ULSRones';
    case 'lsr-zeros':
      return 'ULSRzeroes';
    case 'mixed': {
      const digits = `${u.zeros}${u.ones}`;
      return splitsOf(digits, classCount).length === 1 ? `U${digits}` : `U${u.zeros}-${u.ones}`;
    }
    case 'lists':
      return null;
  }
}

/** A readable form of any encoding (for logs and --dry-run): the token, or the lists as text. */
export function describeUncertainty(u: Uncertainty, classCount: number): string {
  if (u.kind !== 'lists') return uncertaintyToken(u, classCount)!;
  const parts = Object.entries(LIST_KEYS).flatMap(([word, k]) => (u[k]?.length ? [`${word}=${u[k].join(',')}`] : []));
  return [...parts, ...(u.default ? [`default=${u.default}`] : [])].join(';');
}

/** U<z><o>: the first z classes (in the class set's order) to 0, the last o to 1; z + o must be the class count. */
export function mixedByCount(zeros: number, ones: number, classNames: readonly string[]): UncertaintyMode[] {
  if (zeros + ones !== classNames.length) {
    throw new MedtrainError(`a mixed encoding of ${zeros} zeros and ${ones} ones needs ${zeros + ones} classes; ${classNames.length} are selected`, {
      code: 'bad-uncertainty',
      value: `U${zeros}${ones}`,
      hint: `U<z><o> maps the first z classes to 0 and the last o to 1 (classes: ${classNames.join(', ')}); or name them: zeros=A,B;ones=C`,
    });
  }
  return classNames.map((_, i) => (i < zeros ? 'zeros' : 'ones'));
}

function modesOfLists(spec: UncertaintyLists, classNames: readonly string[]): UncertaintyMode[] {
  const modes = Array<UncertaintyMode | null>(classNames.length).fill(null);
  for (const [mode, k] of Object.entries(LIST_KEYS) as [UncertaintyMode, keyof Omit<UncertaintyLists, 'default'>][]) {
    for (const name of spec[k] ?? []) {
      const i = findClass(classNames, name);
      if (i < 0) throw new MedtrainError(`uncertainty list '${mode}' names a class that is not selected`, { code: 'bad-uncertainty', value: name, hint: `selected classes: ${classNames.join(', ')}` });
      if (modes[i] !== null && modes[i] !== mode) throw new MedtrainError(`class is in two uncertainty lists (${modes[i]} and ${mode})`, { code: 'bad-uncertainty', value: name });
      modes[i] = mode;
    }
  }
  return modes.map((m) => m ?? spec.default ?? 'ignore');
}

/** The mode of each selected class under an encoding (any form parseUncertainty reads; default ignore). */
export function resolveUncertainty(spec: string | Uncertainty | UncertaintyLists | undefined, classNames: readonly string[]): UncertaintyMode[] {
  const n = classNames.length;
  if (spec === undefined) return Array<UncertaintyMode>(n).fill('ignore');
  const u = typeof spec === 'string' ? parseUncertainty(spec, n) : checkUncertainty(spec);
  if (u.kind === 'mixed') return mixedByCount(u.zeros, u.ones, classNames);
  if (u.kind === 'lists') return modesOfLists(u, classNames);
  return Array<UncertaintyMode>(n).fill(u.kind);
}
