/**
 * Errors a user can act on. Every user mistake (bad flag, bad data, missing file) is thrown as a
 * MedtrainError that says what was wrong, where, and what to do; the CLI prints it without a stack.
 */

export interface ErrorPlace {
  /** File the problem is in. */
  file?: string;
  /** 1-based line in that file. */
  line?: number;
  /** Column name or 1-based column number. */
  column?: string | number;
  /** The offending value, as read. */
  value?: unknown;
}

export interface ErrorDetails extends ErrorPlace {
  /** Short machine-readable code, e.g. 'missing-columns', 'bad-label', 'unknown-model'. */
  code?: string;
  /** What the user should do about it. */
  hint?: string;
  cause?: unknown;
}

export class MedtrainError extends Error {
  /** What was wrong, without the place, value and hint that `message` adds (for errors that wrap this one). */
  readonly problem: string;
  readonly code: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: string | number;
  readonly value?: unknown;
  readonly hint?: string;

  constructor(message: string, details: ErrorDetails = {}) {
    super(formatMessage(message, details), details.cause !== undefined ? { cause: details.cause } : undefined);
    this.name = 'MedtrainError';
    this.problem = message;
    this.code = details.code ?? 'error';
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
    this.value = details.value;
    this.hint = details.hint;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.file !== undefined && { file: this.file }),
      ...(this.line !== undefined && { line: this.line }),
      ...(this.column !== undefined && { column: this.column }),
      ...(this.value !== undefined && { value: this.value }),
      ...(this.hint !== undefined && { hint: this.hint }),
    };
  }
}

function formatMessage(message: string, d: ErrorDetails): string {
  let where = '';
  if (d.file !== undefined) {
    where = d.file;
    if (d.line !== undefined) where += `:${d.line}`;
  } else if (d.line !== undefined) {
    where = `line ${d.line}`;
  }
  // A flag is named as one (`flag --epochs`); a table's column by its name or number.
  if (d.column !== undefined) where += `${where ? ', ' : ''}${typeof d.column === 'string' && d.column.startsWith('-') ? `flag ${d.column}` : `column ${JSON.stringify(d.column)}`}`;
  let text = where ? `${where}: ${message}` : message;
  if (d.value !== undefined) text += ` (value: ${JSON.stringify(d.value)})`;
  if (d.hint) text += `\n  fix: ${d.hint}`;
  return text;
}

export function isMedtrainError(e: unknown): e is MedtrainError {
  return e instanceof MedtrainError;
}

/** A short list for messages: `a, b, c and 4 more`. */
export function listForMessage(items: readonly string[], max = 20): string {
  if (items.length <= max) return items.join(', ');
  return `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}
