/**
 * The bad-input policy every reader shares: `fail` stops at the first bad row or file with an error
 * naming file, line, column and value; `skip` leaves it out, counted and named in `skipped`.
 */
import type { BadInputPolicy, SkippedItem } from '../core/types.js';
import { MedtrainError } from './errors.js';

/** Collects skipped items, or throws at the first one under the `fail` policy. */
export class BadInput {
  readonly skipped: SkippedItem[] = [];
  /** `code`: the MedtrainError code of a `fail` (default 'bad-input'). */
  constructor(
    readonly policy: BadInputPolicy = 'fail',
    private readonly code = 'bad-input',
  ) {}

  report(item: SkippedItem, hint?: string): void {
    if (this.policy === 'fail') {
      throw new MedtrainError(item.reason, {
        code: this.code,
        file: item.file,
        ...(item.line !== undefined && { line: item.line }),
        ...(item.column !== undefined && { column: item.column }),
        ...(item.value !== undefined && { value: item.value }),
        hint: hint ?? 'fix the row, or read with the skip policy to leave bad rows out (each is named in the log and the summary)',
      });
    }
    this.skipped.push(item);
  }
}
