import { expect } from 'vitest';
import { MedtrainError } from '../../src/util/errors.js';

/** The MedtrainError a call throws (fails the test when it throws nothing or something else). */
export function thrownBy(f: () => unknown): MedtrainError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  }
  throw new Error('expected a MedtrainError');
}
