import { describe, expect, it } from 'vitest';
import { chooseThresholds, evaluateEpoch, evaluateMultiLabel, parseThresholdMethod } from '../../src/metrics/index.js';
import { MedtrainError } from '../../src/util/errors.js';

// Four cases × four classes; class "empty" has only negatives, "masked" is never labelled.
const names = ['A', 'B', 'empty', 'masked'];
const scores = Float32Array.from([
  0.9, 0.2, 0.7, 0.5,
  0.8, 0.6, 0.1, 0.5,
  0.3, 0.4, 0.2, 0.5,
  0.1, 0.9, 0.6, 0.5,
]);
const labels = Float32Array.from([
  1, 0, 0, -1,
  1, 1, 0, -1,
  0, 0, 0, -1,
  0, 1, 0, -1,
]);

describe('multi-label report', () => {
  const r = evaluateMultiLabel(scores, labels, 4, { classNames: names });

  it('a class whose labels are all one value has AUROC null, never 0, and is left out of the macro with a count and reason', () => {
    expect(r.classes.A!.auroc).toBe(1);
    expect(r.classes.empty!.auroc).toBeNull();
    expect(r.classes.empty!.excluded).toBe('no positive labels');
    expect(r.classes.masked!.excluded).toBe('no labelled cases');
    expect(r.excluded).toEqual(['empty', 'masked']);
    expect(r.excludedCount).toBe(2);
    expect(r.macro.classes).toBe(2);
    expect(r.macro.auroc).toBe((r.classes.A!.auroc! + r.classes.B!.auroc!) / 2);
    const json = JSON.parse(JSON.stringify(r));
    expect(json.classes.empty.auroc).toBeNull();
    expect(json.macro.auroc).toBeGreaterThan(0.7);
  });

  it('counts, thresholds and threshold scores per class (score >= threshold is positive)', () => {
    const b = r.classes.B!;
    expect(b.auroc).toBe(1);
    expect([b.n, b.positives, b.negatives, b.masked]).toEqual([4, 2, 2, 0]);
    expect([b.tp, b.fp, b.tn, b.fn]).toEqual([2, 0, 2, 0]);
    const e = r.classes.empty!;
    // No positives: recall undefined (null by default), specificity defined, precision defined (1 false positive).
    expect([e.tp, e.fp, e.tn, e.fn]).toEqual([0, 2, 2, 0]);
    expect(e.recall).toBeNull();
    expect(e.precision).toBe(0);
    expect(e.specificity).toBe(0.5);
    expect(r.classes.masked!.accuracy).toBeNull();
    expect(r.classes.masked!.masked).toBe(4);
  });

  it('macro and weighted average the included classes for every metric; undefined scores are left out unless zeroDivision says 0', () => {
    // "empty" has specificity 0.5 and F1 0 but is excluded: the macro is over A and B.
    expect(r.macro.specificity).toBe((r.classes.A!.specificity! + r.classes.B!.specificity!) / 2);
    expect(r.macro.f1).toBe((r.classes.A!.f1! + r.classes.B!.f1!) / 2);
    expect(r.weighted.recall).toBe(1);
    // At threshold 0.95 class B predicts nothing positive: its precision is undefined.
    const t = [0.5, 0.95, 0.5, 0.5];
    const strict = evaluateMultiLabel(scores, labels, 4, { classNames: names, thresholds: t });
    expect(strict.classes.B!.precision).toBeNull();
    expect(strict.macro.precision).toBe(strict.classes.A!.precision);
    const zero = evaluateMultiLabel(scores, labels, 4, { classNames: names, thresholds: t, zeroDivision: 0 });
    expect(zero.classes.B!.precision).toBe(0);
    expect(zero.macro.precision).toBe(zero.classes.A!.precision! / 2);
  });

  it('micro pools the labelled entries: its accuracy is Keras binary accuracy over labelled entries', () => {
    let right = 0;
    let n = 0;
    for (let i = 0; i < 16; i++) {
      if (labels[i]! < 0) continue;
      n++;
      if ((scores[i]! >= 0.5 ? 1 : 0) === labels[i]) right++;
    }
    expect(r.micro.accuracy).toBe(right / n);
    expect(r.micro.tp + r.micro.fp + r.micro.tn + r.micro.fn).toBe(12);
  });

  it('per-class thresholds chosen on validation apply to test; classes that cannot support a method fall back to 0.5', () => {
    const chosen = chooseThresholds(scores, labels, 4, 'youden', { classNames: names });
    expect(chosen.thresholds.slice(0, 2)).toEqual([Math.fround(0.8), Math.fround(0.6)]);
    expect(chosen.fellBack).toEqual(['empty', 'masked']);
    expect(chosen.thresholds.slice(2)).toEqual([0.5, 0.5]);
    const test = evaluateMultiLabel(scores, labels, 4, { classNames: names, thresholds: chosen.thresholds });
    expect(test.classes.A!.threshold).toBe(Math.fround(0.8));
    expect(test.classes.A!.f1).toBe(1);
    expect(parseThresholdMethod('tpr=1-fpr')).toBe('balanced');
    expect(parseThresholdMethod('F2')).toEqual({ fbeta: 2 });
    expect(parseThresholdMethod('0.3')).toBe(0.3);
    expect(() => parseThresholdMethod('best')).toThrow(MedtrainError);
  });

  it('class with NaN predictions is excluded and named, the rest still scored', () => {
    const s = Float32Array.from(scores);
    s[4] = NaN; // case 1, class A
    const bad = evaluateMultiLabel(s, labels, 4, { classNames: names });
    expect(bad.classes.A!.auroc).toBeNull();
    expect(bad.classes.A!.excluded).toMatch(/NaN/);
    expect(bad.classes.B!.auroc).toBe(1);
  });

  it('refuses shapes that do not match', () => {
    expect(() => evaluateMultiLabel(scores, labels.subarray(0, 12), 4)).toThrow(MedtrainError);
    expect(() => evaluateMultiLabel(scores, labels, 4, { classNames: ['a', 'b'] })).toThrow(/2 class names/);
    expect(() => evaluateMultiLabel(scores, labels, 4, { thresholds: [0.5, 0.5] })).toThrow(/2 thresholds/);
  });

  it('epoch evaluation returns plain numbers for the history', () => {
    const e = evaluateEpoch(scores, labels, names);
    expect(e.auroc).toBe(r.macro.auroc);
    expect(e.history.macro_auroc).toBe(r.macro.auroc);
    expect(e.history['auroc/A']).toBe(1);
    expect(e.history['auroc/empty']).toBeNull();
    expect(e.history.auroc_excluded).toBe(2);
    expect(e.history.binary_accuracy).toBe(r.micro.accuracy);
    expect(e.history.macro_f2).toBe(r.macro.f2);
    for (const v of Object.values(e.history)) expect(v === null || typeof v === 'number').toBe(true);
    expect(evaluateEpoch(scores, labels, names, { prefix: 'val_' }).history.val_macro_auroc).toBe(r.macro.auroc);
  });
});
