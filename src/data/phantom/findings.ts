/**
 * The phantom set's findings.csv: where each image shows each finding it was drawn with, as boxes
 * in the written image's pixels (the file's format is described at the top of write.ts). Writing
 * it, reading it back (`readFindingLocations`), and mapping its boxes onto a resized or cropped
 * image (`scaleBoxes`), which is what a model sees when its input is not the written image's size.
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { BadInput } from '../../util/bad-input.js';
import { locateColumns, streamCsv, toCsv } from '../../util/csv.js';
import { MedtrainError } from '../../util/errors.js';
import { CHEXPERT_CLASSES, type ChexpertLabel } from '../tables/chexpert.js';
import type { FindingBox, FindingRegion, SignSeverity } from './regions.js';

export const FINDINGS_FILE = 'findings.csv';
export const FINDINGS_HEADER = ['Path', 'Finding', 'Part', 'Severity', 'x0', 'y0', 'x1', 'y1'] as const;

/** One box of a finding in one image, as read back. */
export interface LocatedBox extends FindingBox {
  part: string;
  severity: SignSeverity;
}

/** Path (as in the tables' Path column) → finding → its boxes, in the file's order. */
export type FindingLocations = Map<string, Map<ChexpertLabel, LocatedBox[]>>;

/** findings.csv's text for images in table order (train.csv's, then valid.csv's). */
export function findingsCsv(images: ReadonlyArray<{ path: string; regions: readonly FindingRegion[] }>): string {
  const rows = images.flatMap(({ path, regions }) =>
    regions.map((r) => ({ Path: path, Finding: r.finding, Part: r.part, Severity: r.severity, x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1 })),
  );
  return toCsv(rows, FINDINGS_HEADER);
}

const CLASSES: ReadonlySet<string> = new Set(CHEXPERT_CLASSES);
const SEVERITIES: ReadonlySet<string> = new Set(['strong', 'weak']);

/**
 * Read a phantom set's findings.csv (in `setDir`, beside train.csv). Every row is checked: a known
 * finding, a severity, whole-pixel coordinates with x0 < x1 and y0 < y1 (and inside the images, when
 * the set's phantom.json gives their size); the first bad row is an error naming file, line, column
 * and value.
 */
export async function readFindingLocations(setDir: string): Promise<FindingLocations> {
  const file = join(setDir, FINDINGS_FILE);
  try {
    await fsp.access(file);
  } catch {
    throw new MedtrainError(`no ${FINDINGS_FILE} in the phantom set`, {
      code: 'missing-findings',
      file,
      hint: 'sets made before medtrain recorded where it drew each sign (phantom version 2 and older) lack it: make the set again with `medtrain make-phantom` (the same parameters give the same images and tables)',
    });
  }
  const size = await imageSize(setDir);
  const out: FindingLocations = new Map();
  const bad = new BadInput('fail', 'bad-findings');
  let cols: Record<(typeof FINDINGS_HEADER)[number], number> | undefined;
  await streamCsv(
    file,
    bad,
    {
      header(cells) {
        cols = locateColumns(file, cells, FINDINGS_HEADER);
      },
      row(cells, line) {
        const c = cols!;
        const fail = (column: string, reason: string) => bad.report({ file, line, column, value: cells[c[column as keyof typeof c]], reason }, `findings.csv is written by make-phantom; make the set again rather than edit it`);
        const path = cells[c.Path]!;
        if (!path) return fail('Path', 'the image path is empty');
        const finding = cells[c.Finding]!;
        if (!CLASSES.has(finding)) return fail('Finding', `not a CheXpert observation (one of ${CHEXPERT_CLASSES.join(', ')})`);
        const severity = cells[c.Severity]!;
        if (!SEVERITIES.has(severity)) return fail('Severity', 'the severity must be strong or weak');
        const n: Record<'x0' | 'y0' | 'x1' | 'y1', number> = { x0: 0, y0: 0, x1: 0, y1: 0 };
        for (const k of ['x0', 'y0', 'x1', 'y1'] as const) {
          const cell = cells[c[k]]!;
          if (!/^\d+$/.test(cell)) return fail(k, 'a box coordinate must be a whole number of pixels, 0 or more');
          n[k] = Number(cell);
        }
        if (n.x1 <= n.x0) return fail('x1', `the box is empty: x1 must be more than x0 (${n.x0})`);
        if (n.y1 <= n.y0) return fail('y1', `the box is empty: y1 must be more than y0 (${n.y0})`);
        if (size && n.x1 > size.width) return fail('x1', `the box leaves the image (${size.width} pixels wide)`);
        if (size && n.y1 > size.height) return fail('y1', `the box leaves the image (${size.height} pixels high)`);
        let byFinding = out.get(path);
        if (!byFinding) out.set(path, (byFinding = new Map()));
        let boxes = byFinding.get(finding as ChexpertLabel);
        if (!boxes) byFinding.set(finding as ChexpertLabel, (boxes = []));
        boxes.push({ part: cells[c.Part]!, severity: severity as SignSeverity, ...n });
      },
    },
    FINDINGS_FILE,
  );
  return out;
}

/** The set's image size from its phantom.json, or null when it has none (the boxes are then not checked against it). */
async function imageSize(setDir: string): Promise<{ width: number; height: number } | null> {
  try {
    const m = JSON.parse(await fsp.readFile(join(setDir, 'phantom.json'), 'utf8')) as { summary?: { width?: unknown; height?: unknown } };
    const { width, height } = m.summary ?? {};
    return typeof width === 'number' && typeof height === 'number' ? { width, height } : null;
  } catch {
    return null;
  }
}

export interface ImageSize {
  width: number;
  height: number;
}

/** A rectangle of an image: columns [x, x + w), rows [y, y + h) (as image/resample.ts's Box). */
export interface ImageRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Boxes of an image of size `from` mapped onto an image of size `to` that shows `region` of it
 * (default: all of it), stretched as the data pipeline resizes (pixel k spans [k, k + 1) on both
 * sides). The coordinates stay fractional (a pixel box of the written image covers part of a model
 * input's pixel); boxes are clipped to the region, and those wholly outside it are left out.
 * A crop after resizing (the centre crop to `dim`) is one more call: from the resized size to the
 * crop's, with the crop as `region`.
 */
export function scaleBoxes<B extends FindingBox>(boxes: readonly B[], from: ImageSize, to: ImageSize, region: ImageRect = { x: 0, y: 0, w: from.width, h: from.height }): B[] {
  if (!(region.w > 0 && region.h > 0 && to.width > 0 && to.height > 0)) {
    throw new MedtrainError('scaleBoxes needs a region and a target size with positive width and height', { code: 'bad-option', value: { region, to } });
  }
  const sx = to.width / region.w;
  const sy = to.height / region.h;
  const out: B[] = [];
  for (const b of boxes) {
    const x0 = Math.max(b.x0, region.x);
    const y0 = Math.max(b.y0, region.y);
    const x1 = Math.min(b.x1, region.x + region.w);
    const y1 = Math.min(b.y1, region.y + region.h);
    if (x0 >= x1 || y0 >= y1) continue;
    out.push({ ...b, x0: (x0 - region.x) * sx, y0: (y0 - region.y) * sy, x1: (x1 - region.x) * sx, y1: (y1 - region.y) * sy });
  }
  return out;
}
