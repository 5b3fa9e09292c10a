/**
 * What every label-table reader shares: streaming CSV with line numbers, the header
 * check, the bad-input policy (skip: counted and named; fail: an error naming file, line, column
 * and value), label cells, and paths that must stay inside the data root.
 */
import { createReadStream, promises as fsp } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseSync } from 'csv-parse/sync';
import { MedtrainError, listForMessage } from '../../util/errors.js';
import type { BadInputPolicy, SkippedItem } from '../types.js';

/** Options every table reader takes. */
export interface TableOptions {
  /** Bad rows: 'fail' (default) stops with an error naming file, line, column and value; 'skip' leaves them out, named in `skipped`. */
  policy?: BadInputPolicy;
}

/** Collects skipped rows, or throws at the first one under the `fail` policy. */
export class BadInput {
  readonly skipped: SkippedItem[] = [];
  constructor(readonly policy: BadInputPolicy = 'fail') {}

  report(item: SkippedItem, hint?: string): void {
    if (this.policy === 'fail') {
      throw new MedtrainError(item.reason, {
        code: 'bad-input',
        file: item.file,
        ...(item.line !== undefined && { line: item.line }),
        ...(item.column !== undefined && { column: item.column }),
        ...(item.value !== undefined && { value: item.value }),
        hint: hint ?? 'fix the row, or read with policy "skip" to leave bad rows out (they are listed in the summary)',
      });
    }
    this.skipped.push(item);
  }
}

/**
 * A label cell: '1'/'1.0' positive, '0'/'0.0' negative, '-1'/'-1.0' uncertain (other decimal
 * spellings of those three and surrounding spaces too), blank = NaN (not mentioned). Anything else
 * is undefined (a bad cell).
 */
export function parseLabelCell(text: string): number | undefined {
  switch (text) {
    case '':
      return NaN;
    case '1.0':
    case '1':
      return 1;
    case '0.0':
    case '0':
      return 0;
    case '-1.0':
    case '-1':
      return -1;
  }
  const t = text.trim();
  if (t === '') return NaN;
  if (!/^[+-]?\d+(?:\.\d*)?$/.test(t)) return undefined;
  const v = Number(t);
  return v === 0 ? 0 : v === 1 || v === -1 ? v : undefined;
}

/** The absolute path of `rel` under `root` (an absolute, normalised folder), or null when it escapes the root. */
export function resolveInside(root: string, rel: string): string | null {
  // Fast path for the common plain relative path (no '.', '..', empty segments or leading slash).
  if (sep === '/' && rel !== '' && rel.charCodeAt(0) !== 46 && rel.charCodeAt(0) !== 47 && !rel.endsWith('/') && rel.indexOf('/.') < 0 && rel.indexOf('//') < 0 && rel.indexOf('\\') < 0 && rel.indexOf('\0') < 0) {
    return root.endsWith('/') ? root + rel : `${root}/${rel}`;
  }
  const abs = resolve(root, rel);
  const r = relative(root, abs);
  if (r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) return null;
  return abs;
}

export interface CsvRowHandler {
  /** Called once with the header cells (trimmed). */
  header(cells: string[]): void;
  /** Called for each data row with its cells and 1-based line number. */
  row(cells: string[], line: number): void;
}

/**
 * Stream a CSV file row by row (RFC 4180: quoted cells may hold commas, quotes and newlines).
 * Records without a quote take a fast path (split on commas); quoted records go through csv-parse.
 * Empty lines are ignored. A row whose cell count differs from the header's, or a record csv-parse
 * cannot read, is reported through `bad` (skipped and named, or an error naming file and line).
 */
export async function streamCsv(file: string, bad: BadInput, handler: CsvRowHandler, what = 'label table'): Promise<void> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    throw new MedtrainError(`${what} not found`, { code: 'missing-file', file, hint: `check the path; expected a CSV file at ${file}` });
  }
  let width = -1;
  const emit = (record: string, line: number) => {
    let cells: string[];
    if (record.indexOf('"') < 0) cells = record.split(',');
    else {
      try {
        cells = (parseSync(record, { relax_column_count: true }) as string[][])[0] ?? [''];
      } catch (e) {
        bad.report({ file, line, value: record.length > 80 ? `${record.slice(0, 77)}...` : record, reason: `unreadable CSV row: ${(e as Error).message.replace(/ at line \d+/, '')}` }, 'check the quoting on that line (a quote inside a cell is written "")');
        return;
      }
    }
    if (width < 0) {
      width = cells.length;
      handler.header(cells.map((c) => c.trim()));
      return;
    }
    if (cells.length !== width) {
      bad.report({ file, line, value: `${cells.length} cells`, reason: `row has ${cells.length} cells, the header has ${width}` }, 'every row needs one cell per header column (quote cells that contain commas)');
      return;
    }
    handler.row(cells, line);
  };
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let lineNo = 0;
  // A record still open inside quotes (an odd number of quotes so far): its text and its first line.
  let open: { text: string; line: number } | null = null;
  let first = true;
  const take = (text: string, final: boolean) => {
    let pos = 0;
    for (;;) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) {
        if (!final || pos >= text.length) break;
        nl = text.length;
      }
      let line = text.slice(pos, nl);
      pos = nl + 1;
      lineNo++;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (first) {
        if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        first = false;
      }
      if (open) {
        open.text += `\n${line}`;
        if (quoteCount(line) % 2 === 1) {
          emit(open.text, open.line);
          open = null;
        }
        continue;
      }
      if (line === '') continue;
      if (line.indexOf('"') >= 0 && quoteCount(line) % 2 === 1) {
        open = { text: line, line: lineNo };
        continue;
      }
      emit(line, lineNo);
    }
    return text.slice(pos);
  };
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) rest = take(rest + decoder.write(chunk as Buffer), false);
  } catch (e) {
    if (e instanceof MedtrainError) throw e;
    throw new MedtrainError(`cannot read the ${what}: ${(e as Error).message}`, { code: 'unreadable', file });
  }
  take(rest + decoder.end(), true);
  if (open) bad.report({ file, line: (open as { line: number }).line, reason: 'a quoted cell is never closed' }, 'close the quote (a quote inside a cell is written "")');
  if (width < 0) throw new MedtrainError(`${what} is empty`, { code: 'bad-csv', file, hint: 'the first line must be the header' });
}

function quoteCount(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/**
 * Column indices of `required` (and of `optional` where present) in a header, or an error listing
 * the missing and the expected columns. Names match exactly after trimming, then case-insensitively.
 */
export function locateColumns<R extends string, O extends string = never>(
  file: string,
  header: string[],
  required: readonly R[],
  optional: readonly O[] = [],
): Record<R, number> & Partial<Record<O, number>> {
  const find = (name: string): number => {
    const i = header.indexOf(name);
    if (i >= 0) return i;
    const lower = name.toLowerCase();
    return header.findIndex((h) => h.toLowerCase() === lower);
  };
  const out: Record<string, number> = {};
  const missing: string[] = [];
  for (const name of required) {
    const i = find(name);
    if (i < 0) missing.push(name);
    else out[name] = i;
  }
  if (missing.length) {
    throw new MedtrainError(`the header lacks ${missing.length === 1 ? 'a column' : `${missing.length} columns`}: ${listForMessage(missing)}`, {
      code: 'missing-columns',
      file,
      line: 1,
      hint: `expected columns: ${listForMessage([...required, ...optional], 40)}; found: ${listForMessage(header, 40)}`,
    });
  }
  for (const name of optional) {
    const i = find(name);
    if (i >= 0) out[name] = i;
  }
  return out as Record<R, number> & Partial<Record<O, number>>;
}

/** Number or undefined for a blank cell; NaN for a cell that is not a number. */
export function parseOptionalNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : NaN;
}
