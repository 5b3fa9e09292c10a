import { describe, expect, it } from 'vitest';
import {
  checkTransform,
  equalizeHistogram,
  gaussianBlur,
  isTransformToken,
  parseTransform,
  parseTransforms,
  transformToken,
  TRANSFORM_SYNTAX,
  unsharpMask,
  type IntensityTransform,
} from '../../../src/data/image/intensity.js';
import { MedtrainError } from '../../../src/util/errors.js';
import { Rng } from '../../../src/util/rng.js';
import { thrownBy } from '../../helpers/errors.js';

describe('the transform grammar', () => {
  it('reads every token form, in any case', () => {
    expect(parseTransform('sharp21')).toEqual({ kind: 'sharp', radius: 2, amount: 1 });
    expect(parseTransform('SHARP21')).toEqual({ kind: 'sharp', radius: 2, amount: 1 });
    expect(parseTransform('sharp2.5')).toEqual({ kind: 'sharp', radius: 2, amount: 0.5 });
    expect(parseTransform('sharp21.5')).toEqual({ kind: 'sharp', radius: 2, amount: 1.5 });
    expect(parseTransform('gb')).toEqual({ kind: 'blur', sigma: 1 });
    expect(parseTransform('gb2')).toEqual({ kind: 'blur', sigma: 2 });
    expect(parseTransform('gb1.5')).toEqual({ kind: 'blur', sigma: 1.5 });
    for (const t of ['hist', 'histeq', 'he', 'HIST']) expect(parseTransform(t)).toEqual({ kind: 'hist' });
  });

  it('writes the canonical token, which reads back as the same transform', () => {
    expect(transformToken({ kind: 'sharp', radius: 2, amount: 1 })).toBe('sharp21');
    expect(transformToken({ kind: 'blur', sigma: 1 })).toBe('gb');
    expect(transformToken({ kind: 'blur', sigma: 2 })).toBe('gb2');
    expect(transformToken({ kind: 'hist' })).toBe('hist');
    const all: IntensityTransform[] = [
      { kind: 'sharp', radius: 2, amount: 1 },
      { kind: 'sharp', radius: 9, amount: 0.5 },
      { kind: 'sharp', radius: 1, amount: 12.25 },
      { kind: 'sharp', radius: 3, amount: 1e-7 },
      { kind: 'sharp', radius: 3, amount: 1e21 },
      { kind: 'blur', sigma: 1 },
      { kind: 'blur', sigma: 0.5 },
      { kind: 'blur', sigma: 2 },
      { kind: 'blur', sigma: 1e-9 },
      { kind: 'hist' },
    ];
    for (const t of all) expect(parseTransform(transformToken(t))).toEqual(t);
    for (const tok of ['sharp21', 'SHARP21', 'sharp2.5', 'gb', 'gb2', 'gb1.5', 'hist', 'histeq', 'he']) {
      const t = parseTransform(tok);
      expect(parseTransform(transformToken(t))).toEqual(t);
    }
  });

  it('says which lower-case tokens have a transform shape', () => {
    for (const t of ['sharp21', 'sharp2', 'sharpx', 'gb', 'gb0', 'gbx', 'hist', 'histeq', 'he']) expect(isTransformToken(t)).toBe(true);
    for (const t of ['blurry', 'noaug', 'u75', 'lung', 'none', '']) expect(isTransformToken(t)).toBe(false);
  });

  it('names what is wrong with a near miss', () => {
    const cases: [string, RegExp][] = [
      ['sharp2', /sharp needs a radius digit and an amount, as sharp21/],
      ['sharp', /sharp needs a radius digit and an amount/],
      ['sharp021', /sharp radius must be a digit 1-9/],
      ['sharp20', /sharp amount must be above 0/],
      ['gb0', /blur sigma must be above 0/],
      ['gb-1', /blur sigma must be above 0/],
      ['gbx', /gb takes a sigma number or nothing/],
      ['blurry', /Gaussian blur is written gb or gb<sigma>/],
      ['unsharp', /unsharp mask is written sharp<r><a>/],
      ['equalize', /histogram equalisation is written hist/],
      ['emboss', /unknown intensity transform/],
    ];
    for (const [token, message] of cases) {
      const e = thrownBy(() => parseTransform(token));
      expect(e.message).toMatch(message);
      expect([e.code, e.value, e.hint]).toEqual(['bad-transform', token, `use ${TRANSFORM_SYNTAX}`]);
    }
  });

  it('checks and normalises transform objects', () => {
    expect(checkTransform({ kind: 'blur' })).toEqual({ kind: 'blur', sigma: 1 });
    expect(checkTransform({ kind: 'blur', sigma: 2 })).toEqual({ kind: 'blur', sigma: 2 });
    expect(checkTransform({ amount: 1, kind: 'sharp', radius: 2, extra: true })).toEqual({ kind: 'sharp', radius: 2, amount: 1 });
    expect(checkTransform({ kind: 'hist' })).toEqual({ kind: 'hist' });
    const bad: unknown[] = [
      null,
      'sharp21',
      [],
      { kind: 'emboss' },
      { kind: 'sharp', radius: 0, amount: 1 },
      { kind: 'sharp', radius: 10, amount: 1 },
      { kind: 'sharp', radius: 1.5, amount: 1 },
      { kind: 'sharp', radius: 2 },
      { kind: 'sharp', radius: 2, amount: 0 },
      { kind: 'sharp', radius: 2, amount: Infinity },
      { kind: 'blur', sigma: 0 },
      { kind: 'blur', sigma: -1 },
      { kind: 'blur', sigma: NaN },
      { kind: 'blur', sigma: '2' },
    ];
    for (const t of bad) {
      const e = thrownBy(() => checkTransform(t));
      expect(e.code).toBe('bad-transform');
      expect(e.value).toBe(t);
    }
    expect(thrownBy(() => checkTransform({ kind: 'blur', sigma: 0 })).message).toMatch(/blur sigma must be a finite number above 0/);
  });

  it('reads lists joined by _, comma or spaces, and arrays of objects or tokens', () => {
    expect(parseTransforms('sharp21_gb_hist')).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur', sigma: 1 }, { kind: 'hist' }]);
    expect(parseTransforms('GB2,sharp11')).toEqual([{ kind: 'blur', sigma: 2 }, { kind: 'sharp', radius: 1, amount: 1 }]);
    expect(parseTransforms('hist, gb1.5  sharp2.5')).toEqual([{ kind: 'hist' }, { kind: 'blur', sigma: 1.5 }, { kind: 'sharp', radius: 2, amount: 0.5 }]);
    expect(parseTransforms('')).toEqual([]);
    expect(parseTransforms('none')).toEqual([]);
    expect(parseTransforms(' NONE ')).toEqual([]);
    expect(parseTransforms(null)).toEqual([]);
    expect(parseTransforms(undefined)).toEqual([]);
    expect(parseTransforms([])).toEqual([]);
    // The Benchmark's transform objects read as they are.
    expect(parseTransforms([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur' } as IntensityTransform])).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'blur', sigma: 1 }]);
    expect(parseTransforms(['sharp21', { kind: 'hist' }, 'gb2'])).toEqual([{ kind: 'sharp', radius: 2, amount: 1 }, { kind: 'hist' }, { kind: 'blur', sigma: 2 }]);
    expect(() => parseTransforms('sharp21_emboss')).toThrow(MedtrainError);
    expect(thrownBy(() => parseTransforms('sharp21_emboss')).value).toBe('emboss');
    expect(thrownBy(() => parseTransforms([{ kind: 'blur', sigma: 0 }])).code).toBe('bad-transform');
  });

  it('refuses a kind named twice', () => {
    for (const spec of ['gb_gb2', 'sharp21,sharp32', 'hist_he'] as const) {
      const e = thrownBy(() => parseTransforms(spec));
      expect([e.code, e.message]).toEqual(['bad-transform', expect.stringMatching(/transform named twice/)]);
    }
    const e = thrownBy(() => parseTransforms([{ kind: 'blur', sigma: 1 }, 'gb3']));
    expect([e.code, e.value]).toEqual(['bad-transform', 'gb3']);
  });
});

describe('intensity transforms', () => {
  it('unsharp mask sharpens an edge and leaves flat areas alone', () => {
    const w = 20, h = 4;
    const x = Float32Array.from({ length: w * h }, (_, i) => (i % w < 10 ? 100 : 150));
    unsharpMask(x, w, h, 1, 2, 1);
    expect(x[0]).toBeCloseTo(100, 3);
    expect(x[19]).toBeCloseTo(150, 3);
    expect(x[9]!).toBeLessThan(100);
    expect(x[10]!).toBeGreaterThan(150);
  });

  it('Gaussian blur keeps the mean and smooths; histogram equalisation spreads levels over 0..255', () => {
    const rng = new Rng(1);
    const x = Float32Array.from({ length: 32 * 32 }, () => 100 + rng.uniform(0, 20));
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    const sd = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / a.length);
    const b = Float32Array.from(x);
    gaussianBlur(b, 32, 32, 1, 1);
    expect(mean(b)).toBeCloseTo(mean(x), 0);
    expect(sd(b)).toBeLessThan(sd(x) / 2);
    equalizeHistogram(x, 1);
    expect(Math.min(...x)).toBeLessThan(2);
    expect(Math.max(...x)).toBeCloseTo(255, 0);
    expect(mean(x)).toBeGreaterThan(110);
  });
});
