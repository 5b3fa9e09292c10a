import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInput } from '../../src/util/bad-input.js';
import { readCsvFile, streamCsv } from '../../src/util/csv.js';
import { MedtrainError } from '../../src/util/errors.js';
import { tempDir } from '../data/fixtures.js';

const tmp = tempDir('csv');
afterAll(tmp.cleanup);

/** Every row streamCsv gives, with its line, and what the policy left out. */
async function stream(file: string, policy: 'skip' | 'fail' = 'skip'): Promise<{ rows: { cells: string[]; line: number }[]; skipped: BadInput['skipped'] }> {
  const bad = new BadInput(policy, 'bad-csv');
  const rows: { cells: string[]; line: number }[] = [];
  await streamCsv(file, bad, { header: () => undefined, row: (cells, line) => void rows.push({ cells, line }) });
  return { rows, skipped: bad.skipped };
}

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<MedtrainError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  }
  throw new Error('expected a MedtrainError');
}

describe('CSV files that are not UTF-8 text', () => {
  const text = 'Path,Sex,Age,Edema\na.jpg,Female,60,1.0\nb.jpg,Male,70,0.0\n';
  const utf16le = join(tmp.dir, 'utf16le.csv');
  const utf16be = join(tmp.dir, 'utf16be.csv');
  const utf16bare = join(tmp.dir, 'utf16-no-bom.csv');
  const binary = join(tmp.dir, 'binary.csv');
  writeFileSync(utf16le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
  writeFileSync(utf16be, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]));
  writeFileSync(utf16bare, Buffer.from(text, 'utf16le'));
  writeFileSync(binary, Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x00\x00\x08\x00', 'latin1'), Buffer.alloc(64, 7), Buffer.from(text)]));

  it('streamCsv and readCsvFile say a UTF-16 file is not UTF-8 text and how to save it, naming the file', async () => {
    for (const file of [utf16le, utf16be, utf16bare]) {
      for (const e of [await rejection(stream(file)), await rejection(() => readCsvFile(file))]) {
        expect(e.code, file).toBe('bad-csv');
        expect(e.file).toBe(file);
        expect(e.problem).toMatch(/not a UTF-8 text file \(it looks like UTF-16\)/);
        expect(e.hint).toMatch(/save it as UTF-8 CSV/);
        expect(e.message).not.toMatch(/lacks|columns/);
      }
    }
  });

  it('streamCsv and readCsvFile say a binary file (NUL bytes in its first KiB) is not UTF-8 text', async () => {
    for (const e of [await rejection(stream(binary)), await rejection(() => readCsvFile(binary))]) {
      expect(e).toMatchObject({ code: 'bad-csv', file: binary });
      expect(e.problem).toMatch(/not a UTF-8 text file \(it looks like binary\)/);
      expect(e.hint).toMatch(/UTF-8/);
    }
    // UTF-8 with its byte-order mark and non-ASCII text is read.
    const utf8 = join(tmp.dir, 'utf8.csv');
    writeFileSync(utf8, `\ufeffPath,Note\nä.jpg,Ödem – ja\n`);
    expect(readCsvFile(utf8).rows).toEqual([['ä.jpg', 'Ödem – ja']]);
    expect((await stream(utf8)).rows.map((r) => r.cells)).toEqual([['ä.jpg', 'Ödem – ja']]);
  });
});

describe('a quote that is never closed', () => {
  // A 79-line table: the header and 78 rows; line 41 opens a quote it never closes.
  const lines = ['Path,Sex,Age,Edema'];
  for (let l = 2; l <= 79; l++) lines.push(l === 41 ? `p${l}.jpg,"Female,60,1.0` : `p${l}.jpg,Female,${l},1.0`);
  const file = join(tmp.dir, 'unclosed.csv');
  writeFileSync(file, `${lines.join('\n')}\n`);

  it('costs its own line only under the skip policy: every other row is kept, with its own line number', async () => {
    const { rows, skipped } = await stream(file);
    expect(rows).toHaveLength(77);
    expect(rows.map((r) => r.line)).toEqual([...Array.from({ length: 39 }, (_, i) => i + 2), ...Array.from({ length: 38 }, (_, i) => i + 42)]);
    expect(rows.every((r) => r.cells[0] === `p${r.line}.jpg` && r.cells[2] === String(r.line))).toBe(true);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ file, line: 41, reason: 'a quoted cell is never closed' });
    const t = readCsvFile(file, 'CSV file', new BadInput('skip', 'bad-csv'));
    expect(t.lines).toEqual(rows.map((r) => r.line));
  });

  it('under the fail policy, the error names line 41', async () => {
    for (const e of [await rejection(stream(file, 'fail')), await rejection(() => readCsvFile(file))]) {
      expect(e).toMatchObject({ code: 'bad-csv', file, line: 41 });
      expect(e.problem).toMatch(/quoted cell is never closed/);
    }
  });

  it('a stray quote closed by another stray quote lines later loses those two lines only; a real multi-line cell still reads', async () => {
    const t = ['Path,Note,Age', 'a.jpg,"two', 'lines",1', 'b.jpg,"open,2', 'c.jpg,x,3', 'd.jpg,y,4', 'e.jpg,shut",5', 'f.jpg,z,6'];
    const f = join(tmp.dir, 'two-strays.csv');
    writeFileSync(f, `${t.join('\n')}\n`);
    const { rows, skipped } = await stream(f);
    expect(rows.map((r) => [r.line, ...r.cells])).toEqual([
      [2, 'a.jpg', 'two\nlines', '1'],
      [5, 'c.jpg', 'x', '3'],
      [6, 'd.jpg', 'y', '4'],
      [8, 'f.jpg', 'z', '6'],
    ]);
    expect(skipped.map((s) => s.line)).toEqual([4, 7]);
  });
});
