import { afterAll, describe, expect, it } from 'vitest';
import { ImageDataGenerator } from '../../src/data/generator.js';
import { inspectData } from '../../src/data/inspect.js';
import { resolveClasses } from '../../src/data/labels/classes.js';
import { encodeLabels } from '../../src/data/labels/encode.js';
import { makePhantom } from '../../src/data/phantom/write.js';
import { readChexpert } from '../../src/data/tables/chexpert.js';
import { detectDataset } from '../../src/data/tables/detect.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('phantom-read');
afterAll(tmp.cleanup);

describe('the phantom set through the data pipeline', () => {
  it('is recognised as CheXpert, reads with readChexpert, and feeds the generator without a skipped image', async () => {
    const summary = await makePhantom({ out: tmp.dir, patients: 8, size: 64, workers: 0 });
    expect(detectDataset(tmp.dir)).toMatchObject({ kind: 'chexpert', root: tmp.dir });
    const train = await readChexpert(tmp.dir, { file: 'train.csv' });
    const valid = await readChexpert(tmp.dir, { file: 'valid.csv' });
    expect(train.skipped).toEqual([]);
    expect(train.records.length + valid.records.length).toBe(summary.train.images + summary.valid.images);
    const n5 = resolveClasses('N5', train.classes);
    const y = encodeLabels(train.records, n5, { uncertainty: 'U32' });
    const gen = new ImageDataGenerator(train.records, y, { batchSize: 4, dim: 48, resize: 56, crop: 'lung', augment: 'affine', preprocessing: 'torch', workers: 0 });
    let seen = 0;
    for await (const b of gen.epoch(0)) seen += b.size;
    expect(seen).toBe(train.records.length);
    expect(gen.skipped).toEqual([]);
    const report = await inspectData(tmp.dir, { classes: 'N5', checkImages: 'decode' });
    expect(report.skipped).toEqual([]);
    expect(report.split.test).toBe(valid.records.length);
  });
});
