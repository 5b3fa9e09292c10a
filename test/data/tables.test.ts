import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readChestXray14, CHESTXRAY14_CLASSES } from '../../src/data/tables/chestxray14.js';
import { CHEXPERT_CLASSES, readChexpert } from '../../src/data/tables/chexpert.js';
import { parseLabelCell, resolveInside } from '../../src/data/tables/cells.js';
import { detectDataset } from '../../src/data/tables/detect.js';
import { readGenericCsv } from '../../src/data/tables/generic.js';
import { MedtrainError } from '../../src/util/errors.js';
import { CHEXPERT_HEADER, chexpertRow, tempDir } from './fixtures.js';

const tmp = tempDir('tables');
afterAll(tmp.cleanup);

const P = 'CheXpert-v1.0-small/train';

function writeChexpert(dir: string, file: string, lines: string[]): string {
  mkdirSync(join(dir, 'CheXpert-v1.0-small'), { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function rejection(p: Promise<unknown>): Promise<MedtrainError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  }
  throw new Error('expected a MedtrainError');
}

describe('label cells', () => {
  it('reads every spelling of positive, negative, uncertain and blank, and nothing else', () => {
    expect([parseLabelCell('1.0'), parseLabelCell('1'), parseLabelCell(' 1.00 ')]).toEqual([1, 1, 1]);
    expect([parseLabelCell('0.0'), parseLabelCell('0'), parseLabelCell('-0')]).toEqual([0, 0, 0]);
    expect([parseLabelCell('-1.0'), parseLabelCell('-1')]).toEqual([-1, -1]);
    expect(parseLabelCell('')).toBeNaN();
    expect(parseLabelCell('  ')).toBeNaN();
    for (const bad of ['2', '0.5', 'yes', 'nan', '1,0', 'True', '0x1', '1e0', 'Infinity']) expect(parseLabelCell(bad)).toBeUndefined();
  });

  it('keeps paths inside the data root', () => {
    expect(resolveInside('/data', 'a/b.jpg')).toBe('/data/a/b.jpg');
    expect(resolveInside('/data', './a/../b.jpg')).toBe('/data/b.jpg');
    expect(resolveInside('/data', '../etc/passwd')).toBeNull();
    expect(resolveInside('/data', 'a/../../x')).toBeNull();
    expect(resolveInside('/data', '/etc/passwd')).toBeNull();
    expect(resolveInside('/data', '/data/a.jpg')).toBe('/data/a.jpg');
  });
});

describe('CheXpert tables', () => {
  const dir = join(tmp.dir, 'chexpert');
  const rows = [
    CHEXPERT_HEADER,
    chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, { 'No Finding': '1.0', Cardiomegaly: '0.0', Edema: '-1.0' }),
    chexpertRow(`${P}/patient00001/study1/view2_lateral.jpg`, { Cardiomegaly: '1', Edema: '0', Atelectasis: '-1' }, { ap: '' }),
    chexpertRow(`${P}/patient00002/study3/view1_frontal.jpg`, { 'Pleural Effusion': '1.0' }, { ap: 'PA', age: '' }),
    '',
    `"${P}/patient00003/study1/view1_frontal.jpg",Male,71,Frontal,AP${',"0.0"'.repeat(14)}`,
  ];

  it('parses paths, patients, studies, views and every kind of label cell', async () => {
    writeChexpert(dir, 'train.csv', rows);
    const t = await readChexpert(dir);
    expect(t.classes).toEqual([...CHEXPERT_CLASSES]);
    expect(t.skipped).toEqual([]);
    expect(t.records.map((r) => r.patientId)).toEqual(['patient00001', 'patient00001', 'patient00002', 'patient00003']);
    expect(t.records.map((r) => r.studyId)).toEqual(['patient00001/study1', 'patient00001/study1', 'patient00002/study3', 'patient00003/study1']);
    expect(t.records.map((r) => r.view)).toEqual(['frontal', 'lateral', 'frontal', 'frontal']);
    expect(t.records.map((r) => r.projection)).toEqual(['AP', undefined, 'PA', 'AP']);
    expect(t.records[0]!.path).toBe(join(dir, `${P}/patient00001/study1/view1_frontal.jpg`));
    expect(t.records[0]!.id).toBe(`${P}/patient00001/study1/view1_frontal.jpg`);
    expect(t.records[0]!.age).toBe(60);
    expect(t.records[2]!.age).toBeUndefined();
    expect(t.records.map((r) => r.source.line)).toEqual([2, 3, 4, 6]);
    const col = (name: string) => CHEXPERT_CLASSES.indexOf(name as (typeof CHEXPERT_CLASSES)[number]);
    const r0 = t.records[0]!.raw;
    expect([r0[col('No Finding')], r0[col('Cardiomegaly')], r0[col('Edema')]]).toEqual([1, 0, -1]);
    expect(r0[col('Atelectasis')]).toBeNaN();
    expect(t.records[1]!.raw[col('Atelectasis')]).toBe(-1);
    expect(Array.from(t.records[3]!.raw)).toEqual(Array(14).fill(0));
  });

  it('filters views: frontal, lateral, AP, PA', async () => {
    writeChexpert(dir, 'train.csv', rows);
    expect((await readChexpert(dir, { views: 'frontal' })).records).toHaveLength(3);
    const lateral = await readChexpert(dir, { views: ['lateral'] });
    expect(lateral.records).toHaveLength(1);
    expect(lateral.filtered).toBe(3);
    expect((await readChexpert(dir, { views: 'pa' })).records.map((r) => r.patientId)).toEqual(['patient00002']);
    expect((await readChexpert(dir, { views: 'ap,pa' })).records).toHaveLength(3);
  });

  const badRows = [
    CHEXPERT_HEADER,
    chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, { Edema: '1.0' }),
    chexpertRow(`${P}/patient00002/study1/view1_frontal.jpg`, { Edema: '2.0' }),
    chexpertRow(`${P}/patient00003/study1/view1_frontal.jpg`, { Cardiomegaly: 'yes' }),
    `${P}/patient00004/study1/view1_frontal.jpg,Male,50,Frontal`,
    chexpertRow('../../../etc/patient00005/study1/x.jpg', {}),
    chexpertRow(`${P}/nobody/study1/view1_frontal.jpg`, {}),
    chexpertRow(`${P}/patient00006/study1/view1_frontal.jpg`, {}, { view: 'Oblique' }),
    chexpertRow(`${P}/patient00007/study1/view1_frontal.jpg`, {}, { age: 'old' }),
    chexpertRow(`${P}/patient00008/study1/view1_frontal.jpg`, { Edema: '0.0' }),
  ];

  it('skips bad rows under the skip policy, naming file, line, column, value and reason', async () => {
    const file = writeChexpert(dir, 'bad.csv', badRows);
    const t = await readChexpert(dir, { file: 'bad.csv', policy: 'skip' });
    expect(t.records.map((r) => r.patientId)).toEqual(['patient00001', 'patient00008']);
    expect(t.skipped.map((s) => [s.line, s.column, s.value])).toEqual([
      [3, 'Edema', '2.0'],
      [4, 'Cardiomegaly', 'yes'],
      [5, undefined, '4 cells'],
      [6, 'Path', '../../../etc/patient00005/study1/x.jpg'],
      [7, 'Path', `${P}/nobody/study1/view1_frontal.jpg`],
      [8, 'Frontal/Lateral', 'Oblique'],
      [9, 'Age', 'old'],
    ]);
    for (const s of t.skipped) {
      expect(s.file).toBe(file);
      expect(s.reason).toBeTruthy();
    }
    expect(t.skipped[0]!.reason).toMatch(/outside \{1, 0, -1, blank\}/);
    expect(t.skipped[3]!.reason).toMatch(/escapes the data root/);
  });

  it('fails at the first bad row under the fail policy (the default) with file, line, column and value', async () => {
    const file = writeChexpert(dir, 'bad.csv', badRows);
    const e = await rejection(readChexpert(dir, { file: 'bad.csv' }));
    expect(e.file).toBe(file);
    expect(e.line).toBe(3);
    expect(e.column).toBe('Edema');
    expect(e.value).toBe('2.0');
    expect(e.message).toContain(`${file}:3`);
    expect(e.message).toContain('"Edema"');
    expect(e.message).toContain('"2.0"');
    writeChexpert(dir, 'short.csv', [CHEXPERT_HEADER, `${P}/patient00004/study1/view1_frontal.jpg,Male,50,Frontal`]);
    const short = await rejection(readChexpert(dir, { file: 'short.csv' }));
    expect([short.line, short.value]).toEqual([2, '4 cells']);
  });

  it('lists the missing and the expected columns when the header lacks some', async () => {
    const file = writeChexpert(dir, 'nohead.csv', ['Path,Sex,Age,Edema,Cardiomegaly', `${P}/patient00001/study1/a.jpg,M,1,1,0`]);
    const e = await rejection(readChexpert(dir, { file: 'nohead.csv' }));
    expect(e.code).toBe('missing-columns');
    expect(e.file).toBe(file);
    expect(e.message).toContain('No Finding');
    expect(e.message).toContain('Support Devices');
    expect(e.message).not.toMatch(/lacks.*Edema/);
    expect(e.hint).toContain('expected columns: Path, No Finding');
  });

  it('reads CRLF line ends, a byte-order mark, and quoted cells holding commas and newlines', async () => {
    const lines = [CHEXPERT_HEADER, chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, { Edema: '1.0' }, { sex: '"Fe,male"' }), chexpertRow(`${P}/patient00002/study1/view1_frontal.jpg`, {}, { sex: '"two\nlines"' }), chexpertRow(`${P}/patient00003/study1/view1_frontal.jpg`, {})];
    mkdirSync(join(dir, 'CheXpert-v1.0-small'), { recursive: true });
    writeFileSync(join(dir, 'crlf.csv'), `\ufeff${lines.join('\r\n')}\r\n`);
    const t = await readChexpert(dir, { file: 'crlf.csv' });
    expect(t.records.map((r) => r.sex)).toEqual(['Fe,male', 'two\nlines', 'Female']);
    expect(t.records.map((r) => r.source.line)).toEqual([2, 3, 5]);
  });

  it('reports an unclosed quote and a missing file clearly', async () => {
    writeChexpert(dir, 'quote.csv', [CHEXPERT_HEADER, chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, {}, { sex: '"Female' })]);
    const t = await readChexpert(dir, { file: 'quote.csv', policy: 'skip' });
    expect(t.records).toHaveLength(0);
    expect(t.skipped[0]).toMatchObject({ line: 2, reason: expect.stringMatching(/never closed/) });
    writeChexpert(dir, 'quote2.csv', [CHEXPERT_HEADER, chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, {}, { sex: '"Fe"male' }), chexpertRow(`${P}/patient00002/study1/view1_frontal.jpg`, {})]);
    const t2 = await readChexpert(dir, { file: 'quote2.csv', policy: 'skip' });
    expect(t2.records.map((r) => r.patientId)).toEqual(['patient00002']);
    expect(t2.skipped[0]).toMatchObject({ line: 2, reason: expect.stringMatching(/unreadable CSV row: Invalid Closing Quote/) });
    const e = await rejection(readChexpert(dir, { file: 'nothere.csv' }));
    expect(e.code).toBe('missing-file');
  });

  it('finds the tables and the path base in each CheXpert layout, including the phantom one', async () => {
    // The official archive: CSVs inside CheXpert-v1.0-small/, paths relative to the folder above.
    const official = join(tmp.dir, 'official');
    mkdirSync(join(official, 'CheXpert-v1.0-small'), { recursive: true });
    writeFileSync(join(official, 'CheXpert-v1.0-small', 'train.csv'), `${CHEXPERT_HEADER}\n${chexpertRow(`${P}/patient00001/study1/view1_frontal.jpg`, {})}\n`);
    writeFileSync(join(official, 'CheXpert-v1.0-small', 'valid.csv'), `${CHEXPERT_HEADER}\n`);
    for (const pointAt of [official, join(official, 'CheXpert-v1.0-small')]) {
      const d = detectDataset(pointAt);
      expect(d.kind).toBe('chexpert');
      if (d.kind !== 'chexpert') return;
      expect(d.root).toBe(official);
      const t = await readChexpert(d.root, { file: d.train });
      expect(t.records[0]!.path).toBe(join(official, `${P}/patient00001/study1/view1_frontal.jpg`));
    }
    // CSVs beside the image folder (the phantom set's layout).
    writeChexpert(dir, 'train.csv', rows);
    writeChexpert(dir, 'valid.csv', [CHEXPERT_HEADER]);
    expect(detectDataset(dir)).toMatchObject({ kind: 'chexpert', root: dir, train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv') });
    expect(detectDataset(tmp.dir).kind).toBe('unknown');
    expect(() => detectDataset(join(tmp.dir, 'nope'))).toThrow(MedtrainError);
  });
});

describe('ChestX-ray14 tables', () => {
  const dir = join(tmp.dir, 'cxr14');
  const header = 'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';
  const entries = [
    '00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143,',
    '00000001_001.png,Cardiomegaly|Emphysema,1,1,58,M,PA,2894,2729,0.143,0.143,',
    '00000002_000.png,No Finding,0,2,81,M,AP,2500,2048,0.171,0.171,',
    '00000003_000.png,Effusion|Pleural_Thickening|Hernia,0,3,074Y,F,PA,2500,2048,0.168,0.168,',
    '00000004_000.png,Mass|Nodule|Infiltration|Atelectasis|Pneumonia|Pneumothorax|Consolidation|Edema|Fibrosis,0,4,30,F,PA,2048,2500,0.168,0.168,',
    '00000005_000.png,Flu,0,5,30,F,PA,2048,2500,0.168,0.168,',
  ];

  function write(): void {
    mkdirSync(join(dir, 'images_001', 'images'), { recursive: true });
    mkdirSync(join(dir, 'images_002', 'images'), { recursive: true });
    writeFileSync(join(dir, 'images_001', 'images', '00000001_000.png'), 'x');
    writeFileSync(join(dir, 'images_002', 'images', '00000003_000.png'), 'x');
    writeFileSync(join(dir, 'Data_Entry_2017.csv'), `${header}\n${entries.join('\n')}\n`);
    writeFileSync(join(dir, 'train_val_list.txt'), '00000001_000.png\n00000001_001.png\n00000002_000.png\n');
    writeFileSync(join(dir, 'test_list.txt'), '00000003_000.png\n00000004_000.png\n00000005_000.png\n');
  }

  it('parses |-separated findings, No Finding, patients, follow-ups, ages and views', async () => {
    write();
    const t = await readChestXray14(dir, { policy: 'skip' });
    expect(t.classes).toEqual([...CHESTXRAY14_CLASSES]);
    expect(t.records).toHaveLength(5);
    const on = (i: number) => CHESTXRAY14_CLASSES.filter((_, k) => t.records[i]!.raw[k] === 1);
    expect(on(0)).toEqual(['Cardiomegaly']);
    expect(on(1)).toEqual(['Cardiomegaly', 'Emphysema']);
    expect(on(2)).toEqual([]);
    expect(Array.from(t.records[2]!.raw)).toEqual(Array(14).fill(0));
    expect(on(3)).toEqual(['Effusion', 'Pleural_Thickening', 'Hernia']);
    expect(on(4)).toHaveLength(9);
    expect(t.records.map((r) => r.patientId)).toEqual(['1', '1', '2', '3', '4']);
    expect(t.records.map((r) => r.studyId)).toEqual(['1/0', '1/1', '2/0', '3/0', '4/0']);
    expect(t.records[3]!.age).toBe(74);
    expect(t.records[2]).toMatchObject({ projection: 'AP', view: 'frontal', sex: 'M' });
    // Images found in whichever images_NNN/images folder holds them.
    expect(t.records[0]!.path).toBe(join(dir, 'images_001', 'images', '00000001_000.png'));
    expect(t.records[3]!.path).toBe(join(dir, 'images_002', 'images', '00000003_000.png'));
    expect(t.skipped).toEqual([expect.objectContaining({ line: 7, column: 'Finding Labels', value: 'Flu', reason: expect.stringMatching(/unknown finding 'Flu'/) })]);
    await expect(readChestXray14(dir)).rejects.toThrow(/Data_Entry_2017.csv:7.*Finding Labels/);
  });

  it('keeps the official train_val and test lists apart', async () => {
    write();
    const trainVal = await readChestXray14(dir, { split: 'train_val' });
    expect(trainVal.records.map((r) => r.id)).toEqual(['00000001_000.png', '00000001_001.png', '00000002_000.png']);
    expect(trainVal.filtered).toBe(3);
    const test = await readChestXray14(dir, { split: 'test', policy: 'skip' });
    expect(test.records.map((r) => r.id)).toEqual(['00000003_000.png', '00000004_000.png']);
    expect(detectDataset(dir)).toMatchObject({ kind: 'chestxray14', trainValList: join(dir, 'train_val_list.txt'), testList: join(dir, 'test_list.txt') });
  });
});

describe('generic tables', () => {
  it('reads one path column and named label columns, with patients when given', async () => {
    const dir = join(tmp.dir, 'generic');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'tiles.csv');
    writeFileSync(file, 'tile,donor,blast,lymphocyte,notes\ntiles/a.png,d1,1,0,x\ntiles/b.png,d1,0,-1,y\ntiles/c.png,d2,,1,z\n');
    const t = await readGenericCsv(file, { pathColumn: 'tile', patientColumn: 'donor', labelColumns: ['blast', 'lymphocyte'] });
    expect(t.classes).toEqual(['blast', 'lymphocyte']);
    expect(t.records.map((r) => [r.id, r.patientId, Array.from(r.raw)])).toEqual([
      ['tiles/a.png', 'd1', [1, 0]],
      ['tiles/b.png', 'd1', [0, -1]],
      ['tiles/c.png', 'd2', [NaN, 1]],
    ]);
    expect(t.records[0]!.path).toBe(join(dir, 'tiles/a.png'));
    const all = await readGenericCsv(file, { pathColumn: 'tile', patientColumn: 'donor', policy: 'skip' });
    expect(all.classes).toEqual(['blast', 'lymphocyte', 'notes']);
    expect(all.records).toHaveLength(0);
    expect(all.skipped.map((s) => [s.line, s.column, s.value])).toEqual([
      [2, 'notes', 'x'],
      [3, 'notes', 'y'],
      [4, 'notes', 'z'],
    ]);
    await expect(readGenericCsv(file, { pathColumn: 'image' })).rejects.toThrow(/lacks a column: image/);
  });
});
