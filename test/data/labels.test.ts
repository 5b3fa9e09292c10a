import { describe, expect, it } from 'vitest';
import { classSetNames, N12, N5, resolveClasses } from '../../src/data/labels/classes.js';
import { classStats, encodeLabels, selectRows, upsamplingFactors } from '../../src/data/labels/encode.js';
import { LSR_ONES, LSR_ZEROS, resolveUncertainty, splitMixedCounts } from '../../src/data/labels/uncertainty.js';
import { CHESTXRAY14_CLASSES } from '../../src/data/tables/chestxray14.js';
import { CHEXPERT_CLASSES } from '../../src/data/tables/chexpert.js';
import { MASKED, type CaseRecord } from '../../src/core/types.js';
import { MedtrainError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';

const M = MASKED;
const U = -1;
const B = NaN;

/** Records over a small table with classes [No Finding, A, B, C]. */
const TABLE = ['No Finding', 'A', 'B', 'C'];
function records(rows: number[][]): CaseRecord[] {
  return rows.map((raw, i) => ({ id: `r${i}`, path: `/x/r${i}.jpg`, patientId: `p${i}`, raw: Float32Array.from(raw), source: { file: 't.csv', line: i + 2 } }));
}
// Every kind of cell in every class: positive, negative, uncertain, blank; and a No Finding row.
const ROWS = records([
  [B, 1, 0, U],
  [B, 0, U, B],
  [B, U, B, 1],
  [B, B, 1, 0],
  [1, B, B, U],
]);
const ALL = resolveClasses('all', TABLE);
const ABC = resolveClasses(['A', 'B', 'C'], TABLE);
const enc = (opts: Parameters<typeof encodeLabels>[2], sel = ABC) => Array.from(encodeLabels(ROWS, sel, opts));

describe('class sets', () => {
  it('resolves N5, N12, N14, all and custom lists against CheXpert columns', () => {
    const n5 = resolveClasses('N5', CHEXPERT_CLASSES);
    expect(n5.names).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion']);
    expect(n5.columns).toEqual(n5.names.map((n) => CHEXPERT_CLASSES.indexOf(n as never)));
    expect(resolveClasses('n12', CHEXPERT_CLASSES).names).toEqual(N12);
    expect(N12).toHaveLength(12);
    expect(N12).not.toContain('No Finding');
    expect(N12).not.toContain('Support Devices');
    expect(resolveClasses('N14', CHEXPERT_CLASSES).names).toEqual([...CHEXPERT_CLASSES]);
    expect(resolveClasses('edema, pleural_effusion', CHEXPERT_CLASSES).names).toEqual(['Edema', 'Pleural Effusion']);
  });

  it('maps N5 onto ChestX-ray14 (Effusion) and N14 to its own 14 findings', () => {
    expect(resolveClasses('N5', CHESTXRAY14_CLASSES).names).toEqual(['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Effusion']);
    expect(resolveClasses('N14', CHESTXRAY14_CLASSES).names).toEqual([...CHESTXRAY14_CLASSES]);
    expect(() => resolveClasses('N12', CHESTXRAY14_CLASSES)).toThrow(/class set N12: the table has no class 'Enlarged Cardiomediastinum'/);
    expect(() => resolveClasses(['Edema', 'Flu'], CHEXPERT_CLASSES)).toThrow(MedtrainError);
    // The Benchmark's class-set resolver gives the same names.
    expect(classSetNames('chexpert', 'N12')).toEqual(N12);
    expect(classSetNames('chestxray14', 'N5')).toEqual(resolveClasses('N5', CHESTXRAY14_CLASSES).names);
    expect(() => classSetNames('chestxray14', 'N12')).toThrow(MedtrainError);
    expect(() => resolveClasses(['Edema', 'edema'], CHEXPERT_CLASSES)).toThrow(/twice/);
  });
});

describe('uncertainty encodings and blank policies', () => {
  it('U-Ignore masks uncertain cells; blanks become 0 by default', () => {
    expect(enc({ uncertainty: 'ignore' })).toEqual([1, 0, M, 0, M, 0, M, 0, 1, 0, 1, 0, 0, 0, M]);
  });

  it('U-Zeros and U-Ones', () => {
    expect(enc({ uncertainty: 'zeros' })).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
    expect(enc({ uncertainty: 'U-Ones' })).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1]);
  });

  it('blank → mask', () => {
    expect(enc({ uncertainty: 'zeros', blank: 'mask' })).toEqual([1, 0, 0, 0, 0, M, 0, M, 1, M, 1, 0, M, M, 0]);
  });

  it('No Finding = 1 makes blank findings 0 even when blanks are masked', () => {
    const out = enc({ uncertainty: 'ignore', blank: 'mask', noFindingImpliesNegative: true });
    expect(out.slice(12)).toEqual([0, 0, M]); // row 5: A, B blank → 0; C uncertain stays masked
    expect(out.slice(3, 6)).toEqual([0, M, M]); // rows without No Finding keep the blank policy
    expect(() => encodeLabels(ROWS, resolveClasses(['B'], ['B']), { noFindingImpliesNegative: true })).toThrow(/No Finding column/);
  });

  it('mixed lists: named classes, the rest by default', () => {
    expect(enc({ uncertainty: { zeros: ['A'], ones: ['C'] } })).toEqual([1, 0, 1, 0, M, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
    expect(enc({ uncertainty: 'zeros=A;ones=C;default=zeros' })).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1]);
    expect(() => resolveUncertainty({ zeros: ['A'], ones: ['A'] }, ['A', 'B'])).toThrow(/two uncertainty lists/);
    expect(() => resolveUncertainty({ ones: ['Z'] }, ['A', 'B'])).toThrow(/not selected/);
  });

  it('U<z><o>: the first z classes of the set map to 0, the last o to 1', () => {
    expect(resolveUncertainty('U32', N5)).toEqual(['zeros', 'zeros', 'zeros', 'ones', 'ones']);
    expect(resolveUncertainty('u75', N12)).toEqual([...Array(7).fill('zeros'), ...Array(5).fill('ones')]);
    expect(resolveUncertainty('U104', [...CHEXPERT_CLASSES])).toEqual([...Array(10).fill('zeros'), ...Array(4).fill('ones')]);
    expect(enc({ uncertainty: 'U21' })).toEqual(enc({ uncertainty: { zeros: ['A', 'B'], ones: ['C'] } }));
    expect(splitMixedCounts('75', 12)).toEqual({ zeros: 7, ones: 5 });
    // The Benchmark's uncertainty objects mean the same.
    expect(resolveUncertainty({ kind: 'mixed', zeros: 3, ones: 2 }, N5)).toEqual(resolveUncertainty('U32', N5));
    expect(resolveUncertainty({ kind: 'lsr-ones' }, N5)).toEqual(Array(5).fill('lsr-ones'));
    expect(() => resolveUncertainty({ kind: 'mixed', zeros: 7, ones: 5 }, N5)).toThrow(/needs 12 classes; 5 are selected/);
    expect(() => resolveUncertainty('U75', N5)).toThrow(/does not split into zeros \+ ones = 5/);
    expect(() => resolveUncertainty('U110', Array(11).fill('x'))).toThrow(/ambiguous/);
    expect(() => resolveUncertainty('U-maybe', N5)).toThrow(MedtrainError);
  });

  it('LSR-Ones and LSR-Zeros draw uncertain labels uniformly in their ranges, seeded', () => {
    const many = records(Array.from({ length: 400 }, () => [B, U, U, 1]));
    const ones = encodeLabels(many, ABC, { uncertainty: 'lsr-ones', rng: new Rng(5) });
    const zeros = encodeLabels(many, ABC, { uncertainty: 'lsr-zeros', rng: new Rng(5) });
    const pick = (y: Float32Array, k: number) => Array.from(y).filter((_, i) => i % 3 === k);
    const unc = (y: Float32Array) => [...pick(y, 0), ...pick(y, 1)];
    expect(Math.min(...unc(ones))).toBeGreaterThanOrEqual(LSR_ONES[0]);
    expect(Math.max(...unc(ones))).toBeLessThan(LSR_ONES[1]);
    expect(Math.min(...unc(zeros))).toBeGreaterThanOrEqual(LSR_ZEROS[0]);
    expect(Math.max(...unc(zeros))).toBeLessThan(LSR_ZEROS[1]);
    expect(new Set(pick(ones, 2))).toEqual(new Set([1]));
    const mean = ones.filter((_, i) => i % 3 !== 2).reduce((a, b) => a + b, 0) / 800;
    expect(mean).toBeGreaterThan(0.67);
    expect(mean).toBeLessThan(0.73);
    expect(encodeLabels(many, ABC, { uncertainty: 'lsr-ones', rng: new Rng(5) })).toEqual(ones);
    expect(encodeLabels(many, ABC, { uncertainty: 'lsr-ones', rng: new Rng(6) })).not.toEqual(ones);
    expect(() => encodeLabels(many, ABC, { uncertainty: 'lsr-ones' })).toThrow(/seeded Rng/);
  });

  it('counts raw uncertain and blank cells, and positive, negative and masked after encoding', () => {
    const y = encodeLabels(ROWS, ALL, { uncertainty: 'ignore', blank: 'mask' });
    expect(classStats(ROWS, y, ALL)).toEqual({
      'No Finding': { positive: 1, negative: 0, uncertain: 0, blank: 4, masked: 4 },
      A: { positive: 1, negative: 1, uncertain: 1, blank: 2, masked: 3 },
      B: { positive: 1, negative: 1, uncertain: 1, blank: 2, masked: 3 },
      C: { positive: 1, negative: 1, uncertain: 2, blank: 1, masked: 3 },
    });
    const z = encodeLabels(ROWS, ALL, { uncertainty: 'ones', blank: 'zero' });
    expect(classStats(ROWS, z, ALL).C).toEqual({ positive: 3, negative: 2, uncertain: 2, blank: 1, masked: 0 });
    // Upsampling factors: classes below the median positive count come up towards it (at most 4x).
    const y3 = Float32Array.from([1, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0, M, 1, 0, 0, 1, 0, 0, 1, 0, 0]); // 8 rows × 3: positives 8, 1, 4
    expect(upsamplingFactors(y3, 3)).toEqual([1, 4, 1]);
    expect(upsamplingFactors(y3, 3, { maxFactor: 8 })).toEqual([1, 4, 1]);
    expect(upsamplingFactors(y3, 3, { maxFactor: 2 })).toEqual([1, 2, 1]);
    expect(Array.from(selectRows(z, 4, [4, 0]))).toEqual([...Array.from(z.subarray(16, 20)), ...Array.from(z.subarray(0, 4))]);
  });
});
