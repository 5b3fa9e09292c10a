/**
 * The one CSV reader and writer (RFC 4180: quoted cells may hold commas, quotes and newlines).
 *
 * Reading: `streamCsv` streams a file row by row with 1-based line numbers; `readCsvFile` reads a
 * whole file into memory through the same tokenizer. Empty lines are ignored; a UTF-8 byte-order
 * mark is dropped; a file that is not UTF-8 text (UTF-16, or binary: NUL bytes in its first KiB) is an
 * error saying so. A row whose cell count differs from the header's, or a record that cannot be read,
 * goes to the BadInput policy (an error naming file and line, or a named skip). A quote that is never
 * closed costs its own line only: that line is the bad row, and the lines after it are read again as
 * rows (a quoted cell may span lines, so they were first read as part of it). So does one that a later
 * stray quote closes, when the record it makes cannot be read, has the wrong cell count, or spans a
 * line that is a whole row of its own.
 * Writing: `toCsv` quotes only cells that need it and writes numbers at full precision.
 */
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseSync } from 'csv-parse/sync';
import { BadInput } from './bad-input.js';
import { MedtrainError, listForMessage } from './errors.js';

// ---------- writing ----------

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Number.isNaN(v) ? 'NaN' : String(v)) : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows to CSV text. Columns: as given, else every key in first-seen order. */
export function toCsv(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [cols.map(csvCell).join(',')];
  for (const r of rows) lines.push(cols.map((c) => csvCell(r[c])).join(','));
  return `${lines.join('\n')}\n`;
}

// ---------- reading ----------

export interface CsvRowHandler {
  /** Called once with the header cells (trimmed). */
  header(cells: string[]): void;
  /** Called for each data row with its cells and 1-based line number. */
  row(cells: string[], line: number): void;
}

function quoteCount(s: string): number {
  let n = 0;
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++;
  return n;
}

/** Splits text into records (a quoted cell may span lines) and records into cells. */
class Tokenizer {
  private width = -1;
  private lineNo = 0;
  /** A record still open inside quotes (an odd number of quotes so far): its lines and the first one's number. */
  private open: { lines: string[]; line: number } | null = null;
  private first = true;

  constructor(
    private readonly file: string,
    private readonly bad: BadInput,
    private readonly handler: CsvRowHandler,
  ) {}

  /** Take complete lines of `text` (all of it when `final`); returns the unfinished rest. */
  take(text: string, final: boolean): string {
    let pos = 0;
    for (;;) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) {
        if (!final || pos >= text.length) break;
        nl = text.length;
      }
      let line = text.slice(pos, nl);
      pos = nl + 1;
      this.lineNo++;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (this.first) {
        if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        this.first = false;
      }
      this.line(line, this.lineNo);
    }
    return text.slice(pos);
  }

  finish(what: string): void {
    // A quote still open at the end of the file was never closed.
    while (this.open) {
      const o = this.open;
      this.open = null;
      this.unclosed(o, 'a quoted cell is never closed');
    }
    if (this.width < 0) throw new MedtrainError(`${what} is empty`, { code: 'bad-csv', file: this.file, hint: 'the first line must be the header' });
  }

  /** One line of the file (without its line end), numbered. */
  private line(line: string, no: number): void {
    if (this.open) {
      this.open.lines.push(line);
      if (quoteCount(line) % 2 === 1) {
        const o = this.open;
        this.open = null;
        this.emit(o.lines.join('\n'), o.line, o);
      }
      return;
    }
    if (line === '') return;
    if (line.indexOf('"') >= 0 && quoteCount(line) % 2 === 1) {
      this.open = { lines: [line], line: no };
      return;
    }
    this.emit(line, no);
  }

  /**
   * A quote opened on a record's first line and not closed there, where reading on made no good row:
   * the first line alone is the bad row, and the lines after it, taken into the quoted cell, are read
   * again as rows of their own (so one stray quote costs one row, not every row after it).
   */
  private unclosed(o: { lines: string[]; line: number }, reason: string): void {
    const first = o.lines[0]!;
    this.bad.report({ file: this.file, line: o.line, value: first.length > 80 ? `${first.slice(0, 77)}...` : first, reason }, 'close the quote (a quote inside a cell is written "")');
    o.lines.slice(1).forEach((l, i) => this.line(l, o.line + 1 + i));
  }

  /** A record's cells to the handler; `multi` is the record when it spans lines (a quoted cell with line breaks). */
  private emit(record: string, line: number, multi?: { lines: string[]; line: number }): void {
    const unclosed = multi && multi.lines.length > 1 ? multi : null;
    // A line inside the quoted cell that is a whole row of its own (no quote, the header's cell count)
    // means the opening quote was a stray one that a later stray quote happened to close.
    if (unclosed && this.width > 1 && unclosed.lines.slice(1, -1).some((l) => l.indexOf('"') < 0 && l.split(',').length === this.width)) {
      return this.unclosed(unclosed, 'a quoted cell is not closed on its line');
    }
    let cells: string[];
    if (record.indexOf('"') < 0) cells = record.split(',');
    else {
      try {
        cells = (parseSync(record, { relax_column_count: true }) as string[][])[0] ?? [''];
      } catch (e) {
        if (unclosed) return this.unclosed(unclosed, 'a quoted cell is not closed on its line');
        this.bad.report(
          { file: this.file, line, value: record.length > 80 ? `${record.slice(0, 77)}...` : record, reason: `unreadable CSV row: ${(e as Error).message.replace(/ at line \d+/, '')}` },
          'check the quoting on that line (a quote inside a cell is written "")',
        );
        return;
      }
    }
    if (this.width < 0) {
      this.width = cells.length;
      this.handler.header(cells.map((c) => c.trim()));
      return;
    }
    if (cells.length !== this.width) {
      if (unclosed) return this.unclosed(unclosed, 'a quoted cell is not closed on its line');
      this.bad.report({ file: this.file, line, value: `${cells.length} cells`, reason: `row has ${cells.length} cells, the header has ${this.width}` }, 'every row needs one cell per header column (quote cells that contain commas)');
      return;
    }
    this.handler.row(cells, line);
  }
}

/**
 * Why bytes at the start of a file are not UTF-8 text, or null when they may be: a UTF-16 byte-order
 * mark, or NUL bytes in the first KiB (never in UTF-8 text; every other byte in UTF-16 without a mark).
 */
export function notUtf8Text(head: Uint8Array): string | null {
  if (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))) return 'UTF-16';
  const n = Math.min(head.length, 1024);
  let nul = 0;
  let alternating = 0;
  for (let i = 0; i < n; i++) {
    if (head[i] !== 0) continue;
    nul++;
    if (i > 0 && head[i - 1] !== 0) alternating++;
  }
  if (nul === 0) return null;
  // UTF-16 of ASCII text: a NUL beside every character.
  return alternating >= n / 4 ? 'UTF-16' : 'binary';
}

function notUtf8Error(file: string, what: string, kind: string): MedtrainError {
  return new MedtrainError(`the ${what} is not a UTF-8 text file (it looks like ${kind})`, {
    code: 'bad-csv',
    file,
    hint: kind === 'UTF-16' ? 'save it as UTF-8 CSV (e.g. Excel: Save As → "CSV UTF-8"; or iconv -f UTF-16 -t UTF-8)' : 'give the CSV table itself, saved as UTF-8 text',
  });
}

async function checkFile(file: string, what: string): Promise<void> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw new Error('not a file');
  } catch {
    throw new MedtrainError(`${what} not found`, { code: 'missing-file', file, hint: `check the path; expected a CSV file at ${file}` });
  }
}

/** Stream a CSV file row by row (see the top of this file). */
export async function streamCsv(file: string, bad: BadInput, handler: CsvRowHandler, what = 'CSV file'): Promise<void> {
  await checkFile(file, what);
  const tok = new Tokenizer(file, bad, handler);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let first = true;
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      if (first) {
        // The first chunk holds the first KiB (or the whole, shorter, file).
        const kind = notUtf8Text(chunk as Buffer);
        if (kind) throw notUtf8Error(file, what, kind);
        first = false;
      }
      rest = tok.take(rest + decoder.write(chunk as Buffer), false);
    }
  } catch (e) {
    if (e instanceof MedtrainError) throw e;
    throw new MedtrainError(`cannot read the ${what}: ${(e as Error).message}`, { code: 'unreadable', file });
  }
  tok.take(rest + decoder.end(), true);
  tok.finish(what);
}

export interface CsvTable {
  file: string;
  header: string[];
  rows: string[][];
  /** 1-based file line of each row. */
  lines: number[];
}

/** A whole CSV file in memory, through the same tokenizer as streamCsv (bad rows fail by default). */
export function readCsvFile(file: string, what = 'CSV file', bad = new BadInput('fail', 'bad-csv')): CsvTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new MedtrainError(`cannot read the ${what}`, { code: 'missing-file', file, hint: `check the path (${(e as NodeJS.ErrnoException).code ?? String(e)})`, cause: e });
  }
  const kind = notUtf8Text(bytes);
  if (kind) throw notUtf8Error(file, what, kind);
  const text = bytes.toString('utf8');
  const t: CsvTable = { file, header: [], rows: [], lines: [] };
  const tok = new Tokenizer(file, bad, {
    header: (cells) => void (t.header = cells),
    row: (cells, line) => {
      t.rows.push(cells);
      t.lines.push(line);
    },
  });
  tok.take(text, true);
  tok.finish(what);
  return t;
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
