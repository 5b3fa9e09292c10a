/**
 * From raw label cells to training targets: class sets (N5, N12, N14, custom lists), the
 * uncertainty encodings (U-Ignore, U-Zeros, U-Ones, mixed per-class lists, LSR-Ones, LSR-Zeros), the
 * blank policy, "No Finding implies negative", and per-class statistics.
 *
 * Raw cells: 1 positive, 0 negative, −1 uncertain, NaN blank. Encoded: 1 / 0 / a smoothed value in
 * between, or MASKED (−1) for "not labelled" (losses and metrics skip it).
 *
 * Mixed encodings by count, `U<z><o>` as in benchmark names: the selected classes, in the class
 * set's order, are split in two: the first z map uncertain to 0 (U-Zeros), the last o map it to 1
 * (U-Ones); z + o must equal the number of classes, which is how the digits are read (U75 with 12
 * classes is 7 + 5; U104 with 14 is 10 + 4). The class sets' orders:
 *   N5  (SPEC order): Atelectasis, Cardiomegaly, Consolidation, Edema, Pleural Effusion
 *       so U32 = zeros: Atelectasis, Cardiomegaly, Consolidation; ones: Edema, Pleural Effusion;
 *   N12, N14 and 'all': the table's column order (CheXpert's CSV order for CheXpert);
 *   a custom list: the list's order.
 * For any other assignment name the classes: `{zeros: [...], ones: [...]}` or the string
 * `zeros=Cardiomegaly,Consolidation;ones=Atelectasis,Edema,Pleural Effusion` (classes not named take
 * `default`, itself 'ignore' unless given).
 */
import { MedtrainError, listForMessage } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { CHESTXRAY14_CLASSES } from './tables/chestxray14.js';
import { CHEXPERT_CLASSES } from './tables/chexpert.js';
import { isPositive, MASKED, type CaseRecord, type ClassStats } from '../core/types.js';

export const N14: readonly string[] = CHEXPERT_CLASSES;
export const N12: readonly string[] = CHEXPERT_CLASSES.filter((c) => c !== 'No Finding' && c !== 'Support Devices');
/** The CheXpert competition set, in SPEC order. */
export const N5: readonly string[] = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'];

/**
 * The class names of a named set for a dataset (the Benchmark's ClassSetResolver): CheXpert's N5,
 * N12, N14; ChestX-ray14's N14 (its 14 findings) and N5 (with Effusion for Pleural Effusion).
 */
export function classSetNames(dataset: 'chexpert' | 'chestxray14', set: 'N5' | 'N12' | 'N14'): readonly string[] {
  if (dataset === 'chexpert') return set === 'N5' ? N5 : set === 'N12' ? N12 : N14;
  if (set === 'N14') return CHESTXRAY14_CLASSES;
  if (set === 'N5') return N5.map((c) => (c === 'Pleural Effusion' ? 'Effusion' : c));
  throw new MedtrainError('ChestX-ray14 has no N12 class set', { code: 'bad-classes', value: set, hint: 'use N5, N14 or a list of its findings' });
}

/** 'N5', 'N12', 'N14', 'all' (every class of the table), a list of names, or a comma-separated list. */
export type ClassSetSpec = 'N5' | 'N12' | 'N14' | 'all' | readonly string[] | string;

/** The chosen classes: their names and their columns in the table's raw cells. */
export interface ResolvedClasses {
  names: string[];
  columns: number[];
  /** All the table's classes (the raw cells' order). */
  tableClasses: string[];
}

const SYNONYMS: Record<string, string> = { effusion: 'pleural effusion', 'pleural effusion': 'effusion' };
const key = (name: string) => name.trim().toLowerCase().replace(/[\s_-]+/g, ' ');

function findClass(tableClasses: readonly string[], name: string): number {
  const k = key(name);
  let i = tableClasses.findIndex((c) => key(c) === k);
  if (i < 0 && SYNONYMS[k]) i = tableClasses.findIndex((c) => key(c) === SYNONYMS[k]);
  return i;
}

/** Resolve a class set against a table's classes. */
export function resolveClasses(spec: ClassSetSpec | undefined, tableClasses: readonly string[]): ResolvedClasses {
  let wanted: readonly string[];
  let setName = '';
  if (spec === undefined || spec === 'all' || (typeof spec === 'string' && spec.toLowerCase() === 'all')) wanted = tableClasses;
  else if (typeof spec === 'string' && /^n(5|12|14)$/i.test(spec.trim())) {
    setName = spec.trim().toUpperCase();
    wanted = setName === 'N5' ? N5 : setName === 'N12' ? N12 : tableClasses.length === 14 ? tableClasses : N14;
  } else if (typeof spec === 'string') wanted = spec.split(',').map((s) => s.trim()).filter(Boolean);
  else wanted = spec;
  if (wanted.length === 0) throw new MedtrainError('no classes selected', { code: 'bad-classes', hint: 'use N5, N12, N14, all, or a comma-separated list of class names' });
  const columns: number[] = [];
  const missing: string[] = [];
  for (const w of wanted) {
    const i = findClass(tableClasses, w);
    if (i < 0) missing.push(w);
    else columns.push(i);
  }
  if (missing.length) {
    throw new MedtrainError(`${setName ? `class set ${setName}: ` : ''}the table has no class ${listForMessage(missing.map((m) => `'${m}'`))}`, {
      code: 'bad-classes',
      value: missing.join(', '),
      hint: `the table's classes: ${tableClasses.join(', ')}`,
    });
  }
  if (new Set(columns).size !== columns.length) throw new MedtrainError('a class is selected twice', { code: 'bad-classes', value: wanted.join(', ') });
  return { names: columns.map((c) => tableClasses[c]!), columns, tableClasses: [...tableClasses] };
}

// ---------------------------------------------------------------------------------------------
// Uncertainty

export type UncertaintyMode = 'ignore' | 'zeros' | 'ones' | 'lsr-ones' | 'lsr-zeros';
export const UNCERTAINTY_MODES: readonly UncertaintyMode[] = ['ignore', 'zeros', 'ones', 'lsr-ones', 'lsr-zeros'];

/** Per-class lists; classes in no list take `default` ('ignore' unless given). */
export interface MixedUncertainty {
  zeros?: readonly string[];
  ones?: readonly string[];
  ignore?: readonly string[];
  lsrOnes?: readonly string[];
  lsrZeros?: readonly string[];
  default?: UncertaintyMode;
}

/**
 * A mode, per-class lists, a token as in benchmark names ('Uones', 'U-Zeros', 'U32', 'lsr-ones',
 * 'zeros=A,B;ones=C'), or a Benchmark's uncertainty object ({kind: 'ones'}, {kind: 'mixed', zeros: 7, ones: 5}).
 */
export type UncertaintySpec = UncertaintyMode | MixedUncertainty | string | { kind: UncertaintyMode } | { kind: 'mixed'; zeros: number; ones: number };

/** LSR ranges (Pham et al. 2020): uncertain → uniform in these. */
export const LSR_ONES: readonly [number, number] = [0.55, 0.85];
export const LSR_ZEROS: readonly [number, number] = [0, 0.3];

const HELP = "ignore, zeros, ones, lsr-ones, lsr-zeros (optionally with a U or U- prefix), U<z><o> (the first z classes zeros, the last o ones), or 'zeros=A,B;ones=C;default=ignore'";

function modeOf(token: string): UncertaintyMode | null {
  const t = token.trim().toLowerCase().replace(/_/g, '-').replace(/^u-?(?=[a-z])/, '');
  if (t === 'ignore' || t === 'mask') return 'ignore';
  if (t === 'zeros' || t === 'zeroes' || t === 'zero') return 'zeros';
  if (t === 'ones' || t === 'one') return 'ones';
  if (t === 'lsr-ones' || t === 'lsrones') return 'lsr-ones';
  if (t === 'lsr-zeros' || t === 'lsr-zeroes' || t === 'lsrzeros' || t === 'lsrzeroes') return 'lsr-zeros';
  return null;
}

/** Split U<z><o> digits into z + o = n; the split must be unique. */
export function splitMixedCounts(digits: string, n: number): { zeros: number; ones: number } {
  const fits: { zeros: number; ones: number }[] = [];
  for (let k = 1; k < digits.length; k++) {
    const zeros = Number(digits.slice(0, k));
    const ones = Number(digits.slice(k));
    if (zeros + ones === n) fits.push({ zeros, ones });
  }
  if (fits.length !== 1) {
    throw new MedtrainError(fits.length ? `U${digits} is ambiguous for ${n} classes` : `U${digits} does not split into zeros + ones = ${n} classes`, {
      code: 'bad-uncertainty',
      value: `U${digits}`,
      hint: `U<z><o> maps the first z classes to 0 and the last o to 1, with z + o = the number of classes (${n}); or name the classes: zeros=A,B;ones=C`,
    });
  }
  return fits[0]!;
}

/** The uncertainty mode of each selected class. */
export function resolveUncertainty(spec: UncertaintySpec | undefined, classNames: readonly string[]): UncertaintyMode[] {
  const n = classNames.length;
  if (spec === undefined) return Array<UncertaintyMode>(n).fill('ignore');
  if (typeof spec === 'string') {
    const mode = modeOf(spec);
    if (mode) return Array<UncertaintyMode>(n).fill(mode);
    const digits = /^u-?(\d{2,})$/i.exec(spec.trim());
    if (digits) {
      const { zeros, ones } = splitMixedCounts(digits[1]!, n);
      return mixedByCount(zeros, ones, classNames);
    }
    if (spec.includes('=')) {
      const mixed: Record<string, string[]> & { default?: UncertaintyMode } = {};
      for (const part of spec.split(';').map((s) => s.trim()).filter(Boolean)) {
        const [name, list = ''] = part.split('=', 2) as [string, string?];
        const m = modeOf(name);
        if (name.trim().toLowerCase() === 'default') {
          const d = modeOf(list);
          if (!d) throw new MedtrainError('unknown uncertainty mode', { code: 'bad-uncertainty', value: list, hint: `use ${HELP}` });
          mixed.default = d;
        } else if (m) mixed[m] = list.split(',').map((s) => s.trim()).filter(Boolean);
        else throw new MedtrainError('unknown uncertainty mode', { code: 'bad-uncertainty', value: name, hint: `use ${HELP}` });
      }
      return resolveMixed({ zeros: mixed.zeros, ones: mixed.ones, ignore: mixed.ignore, lsrOnes: mixed['lsr-ones'], lsrZeros: mixed['lsr-zeros'], default: mixed.default }, classNames);
    }
    throw new MedtrainError('unknown uncertainty encoding', { code: 'bad-uncertainty', value: spec, hint: `use ${HELP}` });
  }
  if ('kind' in spec) {
    if (spec.kind === 'mixed') return mixedByCount((spec as { zeros: number }).zeros, (spec as { ones: number }).ones, classNames);
    if (!UNCERTAINTY_MODES.includes(spec.kind)) throw new MedtrainError('unknown uncertainty encoding', { code: 'bad-uncertainty', value: spec.kind, hint: `use ${HELP}` });
    return Array<UncertaintyMode>(n).fill(spec.kind);
  }
  return resolveMixed(spec, classNames);
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

function resolveMixed(spec: MixedUncertainty, classNames: readonly string[]): UncertaintyMode[] {
  const modes = Array<UncertaintyMode | null>(classNames.length).fill(null);
  const lists: [UncertaintyMode, readonly string[] | undefined][] = [
    ['zeros', spec.zeros],
    ['ones', spec.ones],
    ['ignore', spec.ignore],
    ['lsr-ones', spec.lsrOnes],
    ['lsr-zeros', spec.lsrZeros],
  ];
  for (const [mode, list] of lists) {
    for (const name of list ?? []) {
      const i = findClass(classNames, name);
      if (i < 0) throw new MedtrainError(`uncertainty list '${mode}' names a class that is not selected`, { code: 'bad-uncertainty', value: name, hint: `selected classes: ${classNames.join(', ')}` });
      if (modes[i] !== null && modes[i] !== mode) throw new MedtrainError(`class is in two uncertainty lists (${modes[i]} and ${mode})`, { code: 'bad-uncertainty', value: name });
      modes[i] = mode;
    }
  }
  return modes.map((m) => m ?? spec.default ?? 'ignore');
}

// ---------------------------------------------------------------------------------------------
// Encoding

export type BlankPolicy = 'zero' | 'mask';

export interface EncodeOptions {
  /** Default 'ignore' (uncertain cells masked). */
  uncertainty?: UncertaintySpec;
  /** Blank (not mentioned) cells: 'zero' (default, the common choice) or 'mask'. */
  blank?: BlankPolicy;
  /** When the row's No Finding is 1, blank findings are 0 whatever the blank policy. */
  noFindingImpliesNegative?: boolean;
  /** Needed for the LSR encodings (their values are drawn once, seeded). */
  rng?: Rng;
}

export function parseBlankPolicy(text: string): BlankPolicy {
  const t = text.trim().toLowerCase();
  if (t === 'zero' || t === 'zeros' || t === '0') return 'zero';
  if (t === 'mask' || t === 'masked' || t === 'ignore') return 'mask';
  throw new MedtrainError('unknown blank policy', { code: 'bad-blank', value: text, hint: "use 'zero' (blank → 0) or 'mask' (blank → not labelled)" });
}

/** Encode records' raw cells for the selected classes: Float32Array [n × C], MASKED where not labelled. */
export function encodeLabels(records: readonly CaseRecord[], classes: ResolvedClasses, opts: EncodeOptions = {}): Float32Array {
  const C = classes.names.length;
  const modes = resolveUncertainty(opts.uncertainty, classes.names);
  const blank = opts.blank ?? 'zero';
  const blankValue = blank === 'zero' ? 0 : MASKED;
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
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (isPositive(y)) pos[i % numClasses]!++;
  }
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
