import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDataReport, inspectData } from '../../src/data/inspect.js';
import { Benchmark } from '../../src/training/benchmark/benchmark.js';
import { MedtrainError } from '../../src/util/errors.js';
import { CHEXPERT_HEADER, chexpertRow, tempDir, writeGreyJpeg } from './fixtures.js';

const tmp = tempDir('inspect');
afterAll(tmp.cleanup);
const dir = join(tmp.dir, 'chexpert');
const P = 'CheXpert-v1.0-small';

beforeAll(async () => {
  const train = [CHEXPERT_HEADER];
  for (let p = 1; p <= 20; p++) {
    for (const v of ['view1_frontal', 'view2_lateral']) {
      const rel = `${P}/train/patient${String(p).padStart(5, '0')}/study1/${v}.jpg`;
      train.push(chexpertRow(rel, { Cardiomegaly: p % 4 === 0 ? '1.0' : p % 4 === 1 ? '-1.0' : p % 4 === 2 ? '0.0' : '', Edema: '1.0' }, { ap: v.includes('frontal') ? (p % 2 ? 'AP' : 'PA') : '' }));
      if (p !== 7 || v !== 'view1_frontal') await writeGreyJpeg(join(dir, rel), 16, 16, () => 100);
    }
  }
  train.push(chexpertRow(`${P}/train/patient00021/study1/view1_frontal.jpg`, { Edema: 'maybe' }));
  const valid = [CHEXPERT_HEADER];
  for (let p = 30; p < 33; p++) {
    const rel = `${P}/valid/patient${p}/study1/view1_frontal.jpg`;
    valid.push(chexpertRow(rel, { Cardiomegaly: '1.0' }));
    await writeGreyJpeg(join(dir, rel), 16, 16, () => 100);
  }
  writeFileSync(join(dir, 'train.csv'), `${train.join('\n')}\n`);
  writeFileSync(join(dir, 'valid.csv'), `${valid.join('\n')}\n`);
});

describe('inspect-data', () => {
  it('reports rows, patients, studies, views, split sizes, per-class counts and every skipped row or file', async () => {
    const r = await inspectData(dir, { classes: ['Cardiomegaly', 'Edema'], uncertainty: 'ones', blank: 'mask', val: 0.2, seed: 1 });
    expect(r.dataset).toBe('chexpert');
    // Every table row counts, and the split covers them all: a missing image is named, not dropped before the split.
    expect(r.rows).toBe(40 + 3);
    expect(r.patients).toBe(20 + 3);
    expect(r.studies).toBe(23);
    expect(r.views).toEqual({ frontal: 20 + 3, lateral: 20, AP: 10 + 3, PA: 10 });
    expect(r.split.train + r.split.val).toBe(40);
    expect(r.split.val).toBeGreaterThanOrEqual(7);
    expect(r.split.val).toBeLessThanOrEqual(9);
    expect(r.split.test).toBe(3);
    const card = r.classesBySplit.train.Cardiomegaly!;
    const cardVal = r.classesBySplit.val.Cardiomegaly!;
    // 40 rows: per 4 patients 2 positive rows, 2 uncertain (→ 1), 2 negative, 2 blank (→ masked); patient 7's frontal image is missing.
    expect(card.positive + cardVal.positive).toBe(10 + 10);
    expect(card.uncertain + cardVal.uncertain).toBe(10);
    expect(card.blank + cardVal.blank).toBe(10);
    expect(card.masked).toBe(card.blank);
    expect(r.classes).toEqual(r.classesBySplit.train);
    expect(r.classesBySplit.test.Cardiomegaly).toEqual({ positive: 3, negative: 0, uncertain: 0, blank: 0, masked: 0 });
    expect(r.classesBySplit.test.Edema).toEqual({ positive: 0, negative: 0, uncertain: 0, blank: 3, masked: 3 });
    expect(r.settings.uncertainty).toEqual({ Cardiomegaly: 'ones', Edema: 'ones' });
    expect(r.skipped).toHaveLength(2);
    expect(r.skipped[0]).toMatchObject({ file: join(dir, 'train.csv'), line: 42, column: 'Edema', value: 'maybe' });
    expect(r.skipped[1]).toMatchObject({ file: join(dir, `${P}/train/patient00007/study1/view1_frontal.jpg`), reason: 'missing file', source: { file: join(dir, 'train.csv'), line: 14 } });
    const text = formatDataReport(r);
    expect(text).toContain('rows 43, patients 23');
    expect(text).toContain('skipped 2 (1 label outside {1, 0, -1, blank}; 1 missing file)');
    expect(text).toContain(`${join(dir, 'train.csv')}:14: missing file`);
  });

  it('prints exactly one JSON object with --json, and a clear error for a folder it does not know', () => {
    const run = (args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/inspect-data.ts', ...args], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'error' } });
    const ok = run(['--data', dir, '--benchmark', 'chexpert_BCE_E3_B32_DS8020', '--classes', 'Cardiomegaly,Edema', '--json']);
    expect(ok.status).toBe(0);
    const lines = ok.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const json = JSON.parse(lines[0]!);
    expect(Object.keys(json)).toEqual(expect.arrayContaining(['rows', 'patients', 'split', 'classes', 'skipped']));
    expect(json.split).toEqual({ train: 32, val: 8, test: 3 });
    expect(Object.keys(json.classes.Cardiomegaly)).toEqual(['positive', 'negative', 'uncertain', 'blank', 'masked']);
    const bad = run(['--data', tmp.dir, '--json']);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stdout.trim())).toMatchObject({ error: 'unknown-dataset' });
    expect(bad.stderr).toMatch(/not a dataset folder/);
  });

  it("takes classes, encoding, blank policy, split and seed from a benchmark, flags overriding them", async () => {
    const r = await inspectData(dir, { ...Benchmark.parse('chexpert_BCE_E3_B32_N5_U32_BlankMask_DS9505').dataOptions(), checkImages: 'none' });
    expect(r.settings).toMatchObject({ classes: ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'], blank: 'mask', val: 0.05, seed: '6122156' });
    expect(Object.values(r.settings.uncertainty)).toEqual(['zeros', 'zeros', 'zeros', 'ones', 'ones']);
    const over = await inspectData(dir, { ...Benchmark.parse('chexpert_BCE_E3_B32_N5_U32').dataOptions(), uncertainty: 'ignore', checkImages: 'none' });
    expect(new Set(Object.values(over.settings.uncertainty))).toEqual(new Set(['ignore']));
    await expect(inspectData(dir, { ...Benchmark.parse('chestxray14_BCE_E3_B32').dataOptions(), checkImages: 'none' })).rejects.toThrow(/for chestxray14 but .* holds chexpert/);
  });

  it('a header-only train.csv is an error naming the file: the training table has no rows (exit 2)', () => {
    const empty = join(tmp.dir, 'header-only');
    mkdirSync(join(empty, P), { recursive: true });
    writeFileSync(join(empty, 'train.csv'), `${CHEXPERT_HEADER}\n`);
    writeFileSync(join(empty, 'valid.csv'), `${CHEXPERT_HEADER}\n${chexpertRow(`${P}/valid/patient1/study1/view1_frontal.jpg`, { Edema: '1.0' })}\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/inspect-data.ts', '--data', empty, '--json'], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'error' } });
    expect(r.status, r.stderr).toBe(2);
    expect(JSON.parse(r.stdout.trim())).toMatchObject({ error: 'no-data', file: join(empty, 'train.csv') });
    expect(r.stderr).toContain(`medtrain: ${join(empty, 'train.csv')}: the training table has no rows`);
    expect(r.stderr).toMatch(/header only/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('reads a generic table when asked', async () => {
    const g = join(tmp.dir, 'tiles');
    mkdirSync(g, { recursive: true });
    writeFileSync(join(g, 'labels.csv'), 'file,donor,blast\na.png,d1,1\nb.png,d2,0\n');
    const r = await inspectData(g, { table: { file: 'labels.csv', pathColumn: 'file', patientColumn: 'donor' }, val: 0.5, seed: 2, checkImages: 'none' });
    expect([r.dataset, r.rows, r.patients, r.split.train, r.split.val]).toEqual(['generic', 2, 2, 1, 1]);
    await expect(inspectData(join(tmp.dir, 'nowhere'))).rejects.toThrow(MedtrainError);
  });
});
