import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { detectDataset } from '../../../src/data/tables/detect.js';
import { locateData } from '../../../src/training/run/default-data.js';
import { CHEXPERT_HEADER, tempDir } from '../../data/fixtures.js';
import { thrownBy } from '../../helpers/errors.js';

const tmp = tempDir('default-data');
afterAll(tmp.cleanup);

describe('a data path that is a file', () => {
  const folder = join(tmp.dir, 'chexpert');
  const csv = join(folder, 'train.csv');
  mkdirSync(join(folder, 'CheXpert-v1.0-small'), { recursive: true });
  writeFileSync(csv, `${CHEXPERT_HEADER}\n`);

  it('locateData (--data) and detectDataset say it is a file, not a folder, and what a dataset folder holds', () => {
    for (const e of [thrownBy(() => locateData('chexpert', 32, { data: csv })), thrownBy(() => detectDataset(csv))]) {
      expect(e).toMatchObject({ code: 'not-a-folder', file: csv, column: '--data' });
      expect(e.problem).toBe('the data path is a file, not a folder');
      expect(e.message).not.toMatch(/not found/);
      expect(e.hint).toContain(`point --data at the folder that holds it (${folder}?)`);
      expect(e.hint).toMatch(/train\.csv, valid\.csv and CheXpert-v1\.0-small\//);
      expect(e.hint).toMatch(/Data_Entry_2017\.csv/);
    }
  });

  it('MEDTRAIN_DATA naming a file says so too; a folder that is not there is still "not found"', () => {
    const before = process.env.MEDTRAIN_DATA;
    process.env.MEDTRAIN_DATA = csv;
    try {
      expect(thrownBy(() => locateData('chexpert', 32))).toMatchObject({ code: 'not-a-folder', file: csv, column: 'MEDTRAIN_DATA', problem: 'the data path is a file, not a folder' });
    } finally {
      if (before === undefined) delete process.env.MEDTRAIN_DATA;
      else process.env.MEDTRAIN_DATA = before;
    }
    expect(thrownBy(() => locateData('chexpert', 32, { data: join(tmp.dir, 'nope') }))).toMatchObject({ code: 'missing-data', problem: 'data folder not found' });
    expect(locateData('chexpert', 32, { data: folder })).toEqual({ dir: folder, source: 'flag', phantom: null });
  });
});
