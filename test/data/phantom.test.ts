import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, readdirSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { N5 } from '../../src/data/labels/classes.js';
import { planPhantom, type PhantomCase } from '../../src/data/phantom/plan.js';
import { renderPhantomCases } from '../../src/data/phantom/render.js';
import { PHANTOM_VERSION, makePhantom, readPhantomMarker } from '../../src/data/phantom/write.js';
import { CHEXPERT_CLASSES, CHEXPERT_HEADER } from '../../src/data/tables/chexpert.js';
import { MedtrainError } from '../../src/util/errors.js';

const root = mkdtempSync(join(tmpdir(), 'medtrain-phantom-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every file under a folder with its sha256, by relative path. */
function digests(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

function readCsv(path: string): string[][] {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  expect(text.includes('\r')).toBe(false);
  return text.slice(0, -1).split('\n').map((l) => l.split(','));
}

const SMALL = { patients: 14, size: 32, seed: 5, workers: 0 } as const;

describe('phantom set on disk', () => {
  const a = join(root, 'a');
  beforeAll(async () => {
    await makePhantom({ out: a, ...SMALL });
  });

  it('has CheXpert-small layout, header and cell format', () => {
    for (const split of ['train', 'valid'] as const) {
      const rows = readCsv(join(a, `${split}.csv`));
      expect(rows[0]!.join(',')).toBe(
        'Path,Sex,Age,Frontal/Lateral,AP/PA,No Finding,Enlarged Cardiomediastinum,Cardiomegaly,Lung Opacity,Lung Lesion,Edema,Consolidation,Pneumonia,Atelectasis,Pneumothorax,Pleural Effusion,Pleural Other,Fracture,Support Devices',
      );
      expect(rows[0]).toEqual([...CHEXPERT_HEADER]);
      expect(rows.length).toBeGreaterThan(1);
      for (const r of rows.slice(1)) {
        expect(r).toHaveLength(19);
        const m = new RegExp(`^CheXpert-v1\\.0-small/${split}/patient(\\d{5})/study(\\d+)/view(\\d+)_(frontal|lateral)\\.jpg$`).exec(r[0]!);
        expect(m, r[0]).not.toBeNull();
        expect(existsSync(join(a, r[0]!))).toBe(true);
        expect(['Male', 'Female']).toContain(r[1]);
        expect(r[2]).toMatch(/^\d+$/);
        expect(Number(r[2])).toBeGreaterThanOrEqual(18);
        expect(Number(r[2])).toBeLessThanOrEqual(90);
        expect(r[3]).toBe(m![4] === 'frontal' ? 'Frontal' : 'Lateral');
        if (m![4] === 'lateral') expect(r[4]).toBe('');
        else expect(['AP', 'PA']).toContain(r[4]);
        for (const cell of r.slice(5)) expect(split === 'valid' ? ['1.0', '0.0'] : ['1.0', '0.0', '-1.0', '']).toContain(cell);
      }
    }
  });

  it('keeps each patient in one split, with ids numbered train first', () => {
    const ids = (split: string) => new Set(readCsv(join(a, `${split}.csv`)).slice(1).map((r) => r[0]!.split('/')[2]!));
    const train = ids('train');
    const valid = ids('valid');
    expect([...train].filter((p) => valid.has(p))).toEqual([]);
    expect(train.size + valid.size).toBe(SMALL.patients);
    expect(Math.max(...[...train].map((p) => Number(p.slice(7))))).toBeLessThan(Math.min(...[...valid].map((p) => Number(p.slice(7)))));
  });

  it('writes greyscale JPEGs of the CheXpert-small aspect', async () => {
    const rows = readCsv(join(a, 'train.csv'));
    const meta = await sharp(join(a, rows[1]![0]!)).metadata();
    expect(meta.format).toBe('jpeg');
    expect(meta.channels).toBe(1);
    expect(meta.width).toBe(32);
    expect(meta.height).toBe(Math.round((32 * 390) / 320));
  });

  it('writes a marker that says what the set is', async () => {
    const m = await readPhantomMarker(a);
    expect(m).not.toBeNull();
    expect(m!.format).toBe('medtrain-phantom');
    expect(m!.version).toBe(PHANTOM_VERSION);
    expect(m!.complete).toBe(true);
    expect(m!.params).toEqual({ patients: 14, size: 32, seed: '5', quality: 90 });
    expect(m!.csv['train.csv']).toBe(createHash('sha256').update(readFileSync(join(a, 'train.csv'))).digest('hex'));
    expect(m!.summary.train.images + m!.summary.valid.images).toBe(m!.summary.images);
    expect(await readPhantomMarker(root)).toBeNull();
  });

  it('is byte-identical for the same seed and differs for another', async () => {
    const b = join(root, 'b');
    const c = join(root, 'c');
    await makePhantom({ out: b, ...SMALL });
    await makePhantom({ out: c, ...SMALL, seed: 6 });
    const da = digests(a);
    const db = digests(b);
    expect(db).toEqual(da);
    const dc = digests(c);
    expect(dc.get('train.csv')).not.toBe(da.get('train.csv'));
    const common = [...da.keys()].filter((k) => k.endsWith('.jpg') && dc.has(k));
    expect(common.length).toBeGreaterThan(0);
    expect(common.filter((k) => dc.get(k) !== da.get(k)).length).toBe(common.length);
  });

  it('re-makes a phantom set in place, and reuses it when asked', async () => {
    const again = await makePhantom({ out: a, ...SMALL });
    expect(again.reused).toBe(false);
    const reused = await makePhantom({ out: a, ...SMALL, reuse: true });
    expect(reused.reused).toBe(true);
    expect(reused.images).toBe(again.images);
    // Other parameters: a new set replaces the old one (it is a phantom set), images included.
    const other = await makePhantom({ out: a, ...SMALL, patients: 6, reuse: true });
    expect(other.reused).toBe(false);
    expect(readdirSync(join(a, 'CheXpert-v1.0-small', 'train')).length + readdirSync(join(a, 'CheXpert-v1.0-small', 'valid')).length).toBe(6);
    expect(readdirSync(a).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses a non-empty folder that is not a phantom set unless forced', async () => {
    const d = join(root, 'foreign');
    mkdirSync(d);
    writeFileSync(join(d, 'notes.txt'), 'mine');
    const err = await makePhantom({ out: d, ...SMALL }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MedtrainError);
    expect((err as MedtrainError).code).toBe('not-phantom-folder');
    expect((err as MedtrainError).message).toContain(d);
    expect((err as MedtrainError).message).toContain('--force');
    expect(readdirSync(d)).toEqual(['notes.txt']);
    await makePhantom({ out: d, ...SMALL, force: true });
    expect(readFileSync(join(d, 'notes.txt'), 'utf8')).toBe('mine');
    expect(await readPhantomMarker(d)).not.toBeNull();
    // An empty folder is fine; a file is not a folder.
    mkdirSync(join(root, 'empty'));
    await makePhantom({ out: join(root, 'empty'), ...SMALL, patients: 2 });
    const f = join(root, 'file');
    writeFileSync(f, '');
    await expect(makePhantom({ out: f, ...SMALL })).rejects.toThrow(/not a folder/);
  });

  it('the CLI prints one JSON summary and writes the same bytes (drawing in worker threads)', () => {
    const out = join(root, 'cli');
    const r = spawnSync('npx', ['tsx', 'scripts/make-phantom.ts', '--out', out, '--patients', '40', '--size', '32', '--seed', '5', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!);
    expect(summary.images).toBeGreaterThan(64);
    expect(summary.width).toBe(32);
    return makePhantom({ out: join(root, 'lib40'), ...SMALL, patients: 40 }).then(() => {
      expect(digests(out)).toEqual(digests(join(root, 'lib40')));
    });
  });

  it('says what is wrong with bad options', async () => {
    await expect(makePhantom({ out: join(root, 'bad'), size: 8 })).rejects.toThrow(/size/);
    await expect(makePhantom({ out: join(root, 'bad'), patients: 0 })).rejects.toThrow(/patients/);
    const r = spawnSync('npx', ['tsx', 'scripts/make-phantom.ts', '--patients', '3'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--out/);
  });
});

describe('phantom labels', () => {
  const plan = planPhantom({ patients: 400, seed: 1 });
  const rate = (cases: PhantomCase[], label: string, cell: string) => cases.filter((c) => c.cells[CHEXPERT_CLASSES.indexOf(label as never)] === cell).length / cases.length;

  it('has CheXpert-like proportions: many blanks, some uncertain, few positives for rare findings', () => {
    const t = plan.train;
    for (const label of CHEXPERT_CLASSES) {
      const pos = rate(t, label, '1.0');
      expect(pos, label).toBeGreaterThan(0.01);
      expect(pos, label).toBeLessThan(0.7);
    }
    for (const label of ['Fracture', 'Pleural Other', 'Lung Lesion']) expect(rate(t, label, '1.0'), label).toBeLessThan(0.1);
    for (const label of ['Pneumothorax', 'Pleural Other', 'Fracture', 'Lung Lesion']) expect(rate(t, label, ''), label).toBeGreaterThan(0.6);
    for (const label of N5) {
      expect(rate(t, label, '-1.0'), label).toBeGreaterThan(0.01);
      expect(rate(t, label, '1.0'), label).toBeGreaterThan(0.08);
    }
    // Pneumonia is mostly uncertain, as in CheXpert.
    expect(rate(t, 'Pneumonia', '-1.0')).toBeGreaterThan(rate(t, 'Pneumonia', '1.0'));
    expect(rate(t, 'Pneumothorax', '0.0')).toBeGreaterThan(0.1);
    const nf = rate(t, 'No Finding', '1.0');
    expect(nf).toBeGreaterThan(0.05);
    expect(nf).toBeLessThan(0.4);
    // No Finding is 1.0 or blank in train.csv, never uncertain.
    expect(rate(t, 'No Finding', '-1.0') + rate(t, 'No Finding', '0.0')).toBe(0);
  });

  it('keeps No Finding and Lung Opacity consistent with the other labels', () => {
    const at = (c: PhantomCase, l: string) => c.labels[CHEXPERT_CLASSES.indexOf(l as never)]!;
    for (const c of [...plan.train, ...plan.valid]) {
      const pathology = CHEXPERT_CLASSES.filter((l) => l !== 'No Finding' && l !== 'Support Devices').some((l) => at(c, l) === 1 || at(c, l) === -1);
      expect(at(c, 'No Finding') === 1).toBe(!pathology);
      for (const child of ['Lung Lesion', 'Edema', 'Consolidation', 'Pneumonia', 'Atelectasis']) {
        if (at(c, child) === 1) expect(at(c, 'Lung Opacity')).toBe(1);
      }
    }
  });

  it('gives every class positives in train and in valid at the default size', () => {
    const def = planPhantom();
    for (const split of [def.train, def.valid]) {
      for (const label of CHEXPERT_CLASSES) expect(rate(split, label, '1.0'), label).toBeGreaterThan(0);
    }
    // Several studies per patient in train, some lateral views, AP and PA.
    const studies = new Map<number, Set<number>>();
    for (const c of def.train) (studies.get(c.study.patient) ?? studies.set(c.study.patient, new Set()).get(c.study.patient)!).add(c.study.study);
    expect([...studies.values()].filter((s) => s.size > 1).length).toBeGreaterThan(10);
    expect(def.train.filter((c) => c.view.view === 'lateral').length).toBeGreaterThan(10);
    expect(new Set(def.train.map((c) => c.view.projection))).toEqual(new Set(['AP', 'PA', '']));
  });
});

describe('phantom cases in memory', () => {
  it('renders pixels and labels deterministically without touching the disk', () => {
    const a = renderPhantomCases({ count: 12, seed: 3, width: 48, height: 48 });
    const b = renderPhantomCases({ count: 12, seed: 3, width: 48, height: 48 });
    const c = renderPhantomCases({ count: 12, seed: 4, width: 48, height: 48 });
    expect(a).toHaveLength(12);
    for (const [i, x] of a.entries()) {
      expect(x.pixels).toHaveLength(48 * 48);
      expect(Buffer.from(x.pixels).equals(Buffer.from(b[i]!.pixels))).toBe(true);
      expect(x.labels).toHaveLength(14);
    }
    expect(Buffer.from(a[0]!.pixels).equals(Buffer.from(c[0]!.pixels))).toBe(false);
    const valid = renderPhantomCases({ count: 8, split: 'valid', frontalOnly: true, width: 32 });
    for (const v of valid) {
      expect(v.view.view).toBe('frontal');
      expect(Array.from(v.labels).every((x) => x === 0 || x === 1)).toBe(true);
    }
  });

  it('draws the signs it labels: a wide heart for Cardiomegaly, fluid at the bases for Pleural Effusion', () => {
    // Brightness across the lower chest: a wide heart and pleural fluid both fill the dark lungs there.
    const cases = renderPhantomCases({ count: 300, seed: 9, width: 64, height: 78, split: 'valid', frontalOnly: true });
    const lowerChest = (px: Uint8Array) => {
      let s = 0;
      for (let y = 44; y < 54; y++) for (let x = 8; x < 56; x++) s += px[y * 64 + x]!;
      return s / (10 * 48);
    };
    const mean = (xs: number[]) => xs.reduce((p, q) => p + q, 0) / xs.length;
    for (const label of ['Cardiomegaly', 'Pleural Effusion']) {
      const k = CHEXPERT_CLASSES.indexOf(label as never);
      const pos = cases.filter((c) => c.labels[k] === 1).map((c) => lowerChest(c.pixels));
      const neg = cases.filter((c) => c.labels[k] === 0).map((c) => lowerChest(c.pixels));
      expect(pos.length, label).toBeGreaterThan(10);
      expect(mean(pos), label).toBeGreaterThan(mean(neg) + 3);
    }
  });
});
