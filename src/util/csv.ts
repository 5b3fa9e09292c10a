/**
 * The one CSV reader and writer (RFC 4180: quoted cells may hold commas, quotes and newlines).
 *
 * Reading: `streamCsv` streams a file row by row with 1-based line numbers; `readCsvFile` reads a
 * whole file into memory through the same tokenizer. Empty lines are ignored; a UTF-8 byte-order
 * mark is dropped. A row whose cell count differs from the header's, or a record that cannot be read
 * (an unclosed quote), goes to the BadInput policy (an error naming file and line, or a named skip).
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
  /** A record still open inside quotes (an odd number of quotes so far): its text and its first line. */
  private open: { text: string; line: number } | null = null;
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
      if (this.open) {
        this.open.text += `\n${line}`;
        if (quoteCount(line) % 2 === 1) {
          this.emit(this.open.text, this.open.line);
          this.open = null;
        }
        continue;
      }
      if (line === '') continue;
      if (line.indexOf('"') >= 0 && quoteCount(line) % 2 === 1) {
        this.open = { text: line, line: this.lineNo };
        continue;
      }
      this.emit(line, this.lineNo);
    }
    return text.slice(pos);
  }

  finish(what: string): void {
    if (this.open) this.bad.report({ file: this.file, line: this.open.line, reason: 'a quoted cell is never closed' }, 'close the quote (a quote inside a cell is written "")');
    if (this.width < 0) throw new MedtrainError(`${what} is empty`, { code: 'bad-csv', file: this.file, hint: 'the first line must be the header' });
  }

  private emit(record: string, line: number): void {
    let cells: string[];
    if (record.indexOf('"') < 0) cells = record.split(',');
    else {
      try {
        cells = (parseSync(record, { relax_column_count: true }) as string[][])[0] ?? [''];
      } catch (e) {
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
      this.bad.report({ file: this.file, line, value: `${cells.length} cells`, reason: `row has ${cells.length} cells, the header has ${this.width}` }, 'every row needs one cell per header column (quote cells that contain commas)');
      return;
    }
    this.handler.row(cells, line);
  }
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
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) rest = tok.take(rest + decoder.write(chunk as Buffer), false);
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
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new MedtrainError(`cannot read the ${what}`, { code: 'missing-file', file, hint: `check the path (${(e as NodeJS.ErrnoException).code ?? String(e)})`, cause: e });
  }
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
