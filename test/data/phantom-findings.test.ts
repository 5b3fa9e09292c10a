/**
 * Where the phantom set drew each sign (findings.csv, regions.ts): rows for exactly the findings an
 * image was drawn with, boxes inside the image, the file read back as the drawing recorded it, and
 * the real check, pixel by pixel: drawing an image without a finding changes no pixel outside that
 * finding's boxes (at 64 px, and at 256 px where the film blur spreads a sign by a pixel), and the
 * boxes of the pointing game's findings are tight around what changed. Then
 * the reader's errors, scaleBoxes, and the pointing game played with a map that knows the answer.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pointingHit } from '../../src/explain/pointing.js';
import { FINDINGS_FILE, readFindingLocations, scaleBoxes, type FindingLocations, type LocatedBox } from '../../src/data/phantom/findings.js';
import { LUNG_OPACITY_CHILDREN, phantomDims, planPhantom } from '../../src/data/phantom/plan.js';
import type { FindingRegion } from '../../src/data/phantom/regions.js';
import { drawPhantomImage, imageRng, renderPhantomCases, type RenderedCase } from '../../src/data/phantom/render.js';
import { makePhantom, readPhantomMarker } from '../../src/data/phantom/write.js';
import { CHEXPERT_CLASSES, type ChexpertLabel } from '../../src/data/tables/chexpert.js';
import { MedtrainError } from '../../src/util/errors.js';
import { tempDir } from './fixtures.js';

const tmp = tempDir('phantom-findings');
afterAll(tmp.cleanup);

const SET = { patients: 16, size: 48, seed: 5, workers: 0 } as const;
const { width: W, height: H } = phantomDims(SET.size);

function readTable(file: string): string[][] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(','));
}

/** The pixels whose value differs between two images of the same size. */
function changed(a: Uint8Array, b: Uint8Array, width: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push([i % width, Math.floor(i / width)]);
  return out;
}

const inside = (x: number, y: number, boxes: readonly { x0: number; y0: number; x1: number; y1: number }[]) => boxes.some((b) => x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1);

describe('findings.csv', () => {
  let locations: FindingLocations;
  beforeAll(async () => {
    await makePhantom({ out: tmp.dir, ...SET });
    locations = await readFindingLocations(tmp.dir);
  });

  it('has the documented header, and its digest in the marker', async () => {
    const text = readFileSync(join(tmp.dir, FINDINGS_FILE), 'utf8');
    expect(text.split('\n')[0]).toBe('Path,Finding,Part,Severity,x0,y0,x1,y1');
    const m = await readPhantomMarker(tmp.dir);
    expect(Object.keys(m!.csv)).toEqual(['train.csv', 'valid.csv', 'findings.csv']);
  });

  it('locates exactly the findings each image was labelled with, inside the image', () => {
    const plan = planPhantom({ patients: SET.patients, seed: SET.seed });
    const cases = new Map([...plan.train, ...plan.valid].map((c) => [c.path, c]));
    let hidden = 0;
    const seen = new Set<string>();
    let rows = 0;
    for (const split of ['train', 'valid']) {
      const [header, ...table] = readTable(join(tmp.dir, `${split}.csv`));
      for (const r of table) {
        const path = r[0]!;
        seen.add(path);
        const lateral = r[3] === 'Lateral';
        const byFinding = locations.get(path) ?? new Map<ChexpertLabel, LocatedBox[]>();
        for (const finding of CHEXPERT_CLASSES) {
          const cell = r[header!.indexOf(finding)]!;
          const boxes = byFinding.get(finding) ?? [];
          rows += boxes.length;
          const located = finding !== 'No Finding' && !(finding === 'Pneumothorax' && lateral);
          if ((cell === '1.0' || cell === '-1.0') && located && !boxes.length) {
            // Only a sign that shows nowhere (an opacity wholly under fluid) goes without a box: drawing the image without it changes nothing.
            const c = cases.get(path)!;
            const draw = (without: ChexpertLabel[]) => drawPhantomImage(c.study, c.view, W, H, imageRng(String(SET.seed), path), { without }).pixels;
            expect(changed(draw([]), draw([finding]), W), `${path} ${finding} ${cell}`).toEqual([]);
            hidden++;
          }
          if (cell !== '1.0' && cell !== '-1.0') expect(boxes, `${path} ${finding} ${cell}`).toEqual([]);
          for (const b of boxes) {
            expect(b.x0).toBeGreaterThanOrEqual(0);
            expect(b.y0).toBeGreaterThanOrEqual(0);
            expect(b.x1).toBeLessThanOrEqual(W);
            expect(b.y1).toBeLessThanOrEqual(H);
            expect(b.x1).toBeGreaterThan(b.x0);
            expect(b.y1).toBeGreaterThan(b.y0);
          }
          // train.csv: strong 1.0, weak -1.0 (Lung Opacity: its strongest opacity); valid.csv labels both 1.0.
          if (split === 'train' && boxes.length) expect(boxes.some((b) => b.severity === 'strong') ? '1.0' : '-1.0', `${path} ${finding}`).toBe(cell);
        }
        // Lung Opacity holds the boxes of the opacities under it.
        const opacity = byFinding.get('Lung Opacity') ?? [];
        for (const child of LUNG_OPACITY_CHILDREN) for (const b of byFinding.get(child) ?? []) expect(opacity).toContainEqual(b);
      }
    }
    expect([...locations.keys()].filter((p) => !seen.has(p))).toEqual([]);
    expect(rows).toBeGreaterThan(50);
    expect(hidden).toBeLessThan(3);
  });

  it('holds the regions the drawing recorded, in pixels of the written images', () => {
    const plan = planPhantom({ patients: SET.patients, seed: SET.seed });
    for (const c of [...plan.train.slice(0, 6), ...plan.valid.slice(0, 2)]) {
      const { regions } = drawPhantomImage(c.study, c.view, W, H, imageRng(String(SET.seed), c.path));
      const fromFile = [...(locations.get(c.path) ?? new Map<ChexpertLabel, unknown[]>()).entries()].flatMap(([finding, boxes]) => (boxes as FindingRegion[]).map((b) => ({ ...b, finding })));
      const sortKey = (r: { finding: string; part: string; x0: number; y0: number }) => `${r.finding}/${r.part}/${r.x0}/${r.y0}`;
      expect(fromFile.map(sortKey).sort()).toEqual(regions.map(sortKey).sort());
    }
  });
});

describe('the boxes hold every pixel a sign changed, and little more', () => {
  /**
   * For every finding an image was labelled with: the image drawn without it differs only inside its
   * boxes (none: not at all). `fill` collects, per finding and box, how much of the box the changed
   * pixels' bounding box covers.
   */
  function check(cases: RenderedCase[], seed: string, counts: Map<string, number>, fill = new Map<string, number[]>()): void {
    for (const c of cases) {
      for (const [k, finding] of CHEXPERT_CLASSES.entries()) {
        if (finding === 'No Finding' || !(c.labels[k] === 1 || c.labels[k] === -1)) continue;
        const boxes = c.regions.filter((r) => r.finding === finding);
        const without = drawPhantomImage(c.study, c.view, c.width, c.height, imageRng(seed, c.path), { without: [finding] });
        const diff = changed(c.pixels, without.pixels, c.width);
        const outside = diff.filter(([x, y]) => !inside(x, y, boxes));
        expect(outside, `${c.path} ${finding}: ${outside.length} of ${diff.length} changed pixels outside ${JSON.stringify(boxes)}`).toEqual([]);
        if (diff.length) counts.set(finding, (counts.get(finding) ?? 0) + 1);
        expect(without.regions.filter((r) => r.finding === finding)).toEqual([]);
        for (const b of boxes) {
          const mine = diff.filter(([x, y]) => inside(x, y, [b]));
          const span = mine.length ? (Math.max(...mine.map((p) => p[0])) + 1 - Math.min(...mine.map((p) => p[0]))) * (Math.max(...mine.map((p) => p[1])) + 1 - Math.min(...mine.map((p) => p[1]))) : 0;
          (fill.get(finding) ?? fill.set(finding, []).get(finding)!).push(span / ((b.x1 - b.x0) * (b.y1 - b.y0)));
        }
      }
    }
  }

  it('at 64 px, for every located finding, frontal and lateral, strong and weak', () => {
    const counts = new Map<string, number>();
    const fill = new Map<string, number[]>();
    check(renderPhantomCases({ count: 90, seed: 21, width: 64 }), '21', counts, fill);
    check(renderPhantomCases({ count: 40, seed: 21, width: 64, split: 'valid' }), '21', counts, fill);
    // Every located finding was checked on images where leaving it out changed pixels.
    for (const finding of CHEXPERT_CLASSES.filter((c) => c !== 'No Finding')) expect(counts.get(finding) ?? 0, finding).toBeGreaterThan(0);
    // The signs the pointing game is held to are boxed tightly: the changed pixels span most of a typical box.
    for (const finding of ['Cardiomegaly', 'Pleural Effusion', 'Pneumothorax', 'Lung Lesion', 'Support Devices']) {
      const f = fill.get(finding)!.sort((a, b) => a - b);
      expect(f[f.length >> 1], finding).toBeGreaterThan(0.8);
    }
  });

  it('at 256 px, where the film blur spreads a sign by one pixel', () => {
    const counts = new Map<string, number>();
    check(renderPhantomCases({ count: 8, seed: 4, width: 256, split: 'valid' }), '4', counts);
    expect(counts.size).toBeGreaterThan(4);
  });
});

describe('pointing with the phantom boxes', () => {
  it('a map of where the sign changed the image points inside its boxes, at the image size and scaled to a 64 × 64 input', () => {
    const cases = renderPhantomCases({ count: 30, seed: 8, width: 64, split: 'valid', frontalOnly: true });
    let rounds = 0;
    for (const c of cases) {
      for (const finding of ['Cardiomegaly', 'Pleural Effusion', 'Pneumothorax', 'Lung Lesion', 'Support Devices'] as const) {
        const boxes = c.regions.filter((r) => r.finding === finding);
        if (!boxes.length) continue;
        const without = drawPhantomImage(c.study, c.view, c.width, c.height, imageRng('8', c.path), { without: [finding] });
        // A 13 × 8 map of cells of 8 × 6 pixels over the 64 × 78 image: how much the sign changed each cell.
        const map = new Float32Array(13 * 8);
        for (let i = 0; i < c.pixels.length; i++) map[Math.floor(Math.floor(i / 64) / 6) * 8 + Math.floor((i % 64) / 8)] += Math.abs(c.pixels[i]! - without.pixels[i]!);
        if (!map.some((v) => v > 0)) continue;
        // The peak cell holds changed pixels, all inside the boxes: its centre is within half a cell's diagonal (5 px) of one.
        expect(pointingHit(map, 13, 8, { width: 64, height: 78 }, boxes, { tolerance: 5 }).hit, `${c.path} ${finding}`).toBe(true);
        // The same map over the image stretched to 64 × 64, with the boxes scaled alike (cells of 8 × 64/13 px).
        const scaled = scaleBoxes(boxes, { width: 64, height: 78 }, { width: 64, height: 64 });
        expect(pointingHit(map, 13, 8, { width: 64, height: 64 }, scaled, { tolerance: Math.hypot(4, 32 / 13) }).hit).toBe(true);
        rounds++;
      }
    }
    expect(rounds).toBeGreaterThan(10);
  });
});

describe('scaleBoxes', () => {
  const box = { x0: 8, y0: 39, x1: 24, y1: 78, part: 'p' };

  it('stretches boxes onto another size, keeping their other fields', () => {
    expect(scaleBoxes([box], { width: 64, height: 78 }, { width: 32, height: 39 })).toEqual([{ x0: 4, y0: 19.5, x1: 12, y1: 39, part: 'p' }]);
    expect(scaleBoxes([box], { width: 64, height: 78 }, { width: 64, height: 64 })).toEqual([{ x0: 8, y0: 32, x1: 24, y1: 64, part: 'p' }]);
  });

  it('maps onto a crop of the image: clipped to it, left out when outside', () => {
    const region = { x: 4, y: 30, w: 16, h: 16 };
    expect(scaleBoxes([box, { ...box, x0: 40, x1: 50 }], { width: 64, height: 78 }, { width: 32, height: 32 }, region)).toEqual([{ x0: 8, y0: 18, x1: 32, y1: 32, part: 'p' }]);
    expect(() => scaleBoxes([box], { width: 64, height: 78 }, { width: 0, height: 32 })).toThrow(MedtrainError);
  });
});

describe('readFindingLocations errors', () => {
  const dir = join(tmp.dir, 'bad');
  const write = (text: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, FINDINGS_FILE), text);
  };
  const fails = async (): Promise<MedtrainError> => {
    const e = await readFindingLocations(dir).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  };
  const HEAD = 'Path,Finding,Part,Severity,x0,y0,x1,y1\n';
  const P = 'CheXpert-v1.0-small/train/patient00001/study1/view1_frontal.jpg';

  it('names a missing file and says how to make one', async () => {
    const e = (await readFindingLocations(join(tmp.dir, 'nowhere')).catch((err: unknown) => err)) as MedtrainError;
    expect(e.code).toBe('missing-findings');
    expect(e.message).toContain('make-phantom');
  });

  it('names the file, line, column and value of a bad row', async () => {
    write(`${HEAD}${P},Cardiomegaly,heart,strong,1,2,3,4\n${P},Cardiomegally,heart,strong,1,2,3,4\n`);
    let e = await fails();
    expect(e.message).toContain(`${join(dir, FINDINGS_FILE)}:3`);
    expect([e.column, e.value]).toEqual(['Finding', 'Cardiomegally']);
    write(`${HEAD}${P},Edema,right lung,strong,1,2.5,3,4\n`);
    e = await fails();
    expect([e.line, e.column, e.value]).toEqual([2, 'y0', '2.5']);
    write(`${HEAD}${P},Edema,right lung,strong,5,2,5,4\n`);
    expect((await fails()).message).toMatch(/x1 must be more than x0/);
    write(`${HEAD}${P},Edema,right lung,mild,1,2,3,4\n`);
    expect((await fails()).column).toBe('Severity');
    write(`${HEAD}${P},Edema,right lung,weak,1,2,3\n`);
    expect((await fails()).line).toBe(2);
    write('Path,Finding,x0,y0,x1,y1\n');
    expect((await fails()).code).toBe('missing-columns');
  });

  it('checks boxes against the image size the set records', async () => {
    writeFileSync(join(dir, 'phantom.json'), JSON.stringify({ format: 'medtrain-phantom', summary: { width: 48, height: 58 } }));
    write(`${HEAD}${P},Fracture,rib,weak,40,50,49,58\n`);
    const e = await fails();
    expect([e.column, e.value]).toEqual(['x1', '49']);
    expect(e.message).toContain('48 pixels wide');
    write(`${HEAD}${P},Fracture,rib,weak,40,50,48,58\n${P},Fracture,callus,weak,1,2,3,4\n`);
    const ok = await readFindingLocations(dir);
    expect(ok.get(P)!.get('Fracture')).toEqual([
      { part: 'rib', severity: 'weak', x0: 40, y0: 50, x1: 48, y1: 58 },
      { part: 'callus', severity: 'weak', x0: 1, y0: 2, x1: 3, y1: 4 },
    ]);
  });
});
