/**
 * CheXpert label tables (`train.csv`, `valid.csv`): image paths relative to the folder above
 * `CheXpert-v1.0-small/`, the patient and study parsed from the `patientNNNNN/studyN` path segments,
 * view filters (frontal, lateral, AP, PA, or any AP/PA value), and the 14 observation columns with
 * 1.0 / 0.0 / -1.0 / blank cells.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import type { CaseRecord, LabelTable } from '../../core/types.js';
import { parseLabelCell, parseOptionalNumber, resolveInside, type TableOptions } from './cells.js';
import { BadInput } from '../../util/bad-input.js';
import { locateColumns, streamCsv } from '../../util/csv.js';

/** The 14 CheXpert observations, in the CSV's column order (one list, shared with the phantom set). */
export const CHEXPERT_CLASSES = [
  'No Finding',
  'Enlarged Cardiomediastinum',
  'Cardiomegaly',
  'Lung Opacity',
  'Lung Lesion',
  'Edema',
  'Consolidation',
  'Pneumonia',
  'Atelectasis',
  'Pneumothorax',
  'Pleural Effusion',
  'Pleural Other',
  'Fracture',
  'Support Devices',
] as const;
export type ChexpertLabel = (typeof CHEXPERT_CLASSES)[number];

const CHEXPERT_META_COLUMNS = ['Path', 'Sex', 'Age', 'Frontal/Lateral', 'AP/PA'] as const;

/** CheXpert's 19 CSV columns, spelled as in its header. */
export const CHEXPERT_HEADER = [...CHEXPERT_META_COLUMNS, ...CHEXPERT_CLASSES] as const;

/** The image folder names the official archives unpack to. */
export const CHEXPERT_IMAGE_DIRS = ['CheXpert-v1.0-small', 'CheXpert-v1.0'] as const;

/** A view filter: 'frontal', 'lateral', or an AP/PA value ('ap', 'pa', 'll', ...). Case-insensitive. */
export type ViewFilter = string;

export interface ChexpertOptions extends TableOptions {
  /** 'train.csv' (default), 'valid.csv', or a path to another CSV in CheXpert's format. */
  file?: string;
  /** Keep only these views (a row matching any is kept): e.g. ['frontal'], ['ap', 'pa'], or 'frontal,lateral'. */
  views?: ViewFilter | readonly ViewFilter[];
}

/** Normalise a view filter; null means all views. */
export function parseViews(views: ViewFilter | readonly ViewFilter[] | undefined | null): string[] | null {
  if (views === undefined || views === null) return null;
  const list = (typeof views === 'string' ? views.split(',') : [...views]).map((v) => v.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0 || list.includes('all')) return null;
  return list;
}

/** Whether a record passes a view filter. */
export function matchesViews(r: Pick<CaseRecord, 'view' | 'projection'>, views: readonly string[] | null): boolean {
  if (!views) return true;
  for (const v of views) {
    if (v === 'frontal' || v === 'lateral') {
      if (r.view === v) return true;
    } else if (r.projection !== undefined && r.projection.toLowerCase() === v) return true;
  }
  return false;
}

/** Where a CheXpert CSV lies: in the data root, or in the image folder inside it. */
export function findChexpertCsv(dataRoot: string, file: string): string | null {
  if (isAbsolute(file)) return existsSync(file) ? file : null;
  for (const c of [join(dataRoot, file), ...CHEXPERT_IMAGE_DIRS.map((d) => join(dataRoot, d, file))]) if (existsSync(c)) return c;
  return null;
}

/**
 * The folder the CSV's paths are relative to: the first of the data root, the CSV's folder and the
 * folder above it that holds the paths' first segment (`CheXpert-v1.0-small`); the data root otherwise.
 */
function pathBase(dataRoot: string, csv: string, firstPath: string): string {
  const seg = firstPath.split(/[\\/]/)[0] ?? '';
  for (const c of [dataRoot, dirname(csv), dirname(dirname(csv))]) {
    try {
      if (seg && statSync(join(c, seg)).isDirectory()) return c;
    } catch {
      // not here
    }
  }
  return dataRoot;
}

type Columns = ReturnType<typeof locateChexpertColumns>;

function locateChexpertColumns(csv: string, header: string[]) {
  return locateColumns(csv, header, ['Path', ...CHEXPERT_CLASSES], ['Sex', 'Age', 'Frontal/Lateral', 'AP/PA']);
}

/** The first problem of a row as [column, value, reason], or null. */
function rowProblem(rel: string, cells: string[], c: Columns, classCols: number[]): [string, string, string] | null {
  if (!rel) return ['Path', '', 'empty image path'];
  if (!PATIENT_STUDY.test(rel)) return ['Path', rel, 'no patientNNNNN segment in the image path (the patient id comes from it)'];
  for (let k = 0; k < classCols.length; k++) {
    const text = cells[classCols[k]!]!;
    if (parseLabelCell(text) === undefined) return [CHEXPERT_CLASSES[k]!, text, 'label outside {1, 0, -1, blank}'];
  }
  if (c['Frontal/Lateral'] !== undefined) {
    const fl = cells[c['Frontal/Lateral']]!.trim().toLowerCase();
    if (fl !== 'frontal' && fl !== 'lateral' && fl !== '') return ['Frontal/Lateral', cells[c['Frontal/Lateral']]!, 'expected Frontal, Lateral or blank'];
  }
  if (c.Age !== undefined && Number.isNaN(parseOptionalNumber(cells[c.Age]!))) return ['Age', cells[c.Age]!, 'age is not a number'];
  return null;
}

const PATIENT_STUDY = /(?:^|[\\/])(patient\d+)(?:[\\/](study\d+))?(?:[\\/]|$)/;

/** Read a CheXpert-format label table. Rows are CaseRecords with raw cells in CHEXPERT_CLASSES order. */
export async function readChexpert(dataRoot: string, opts: ChexpertOptions = {}): Promise<LabelTable> {
  const root = resolve(dataRoot);
  const name = opts.file ?? 'train.csv';
  const csv = findChexpertCsv(root, name);
  if (!csv) {
    throw new MedtrainError(`CheXpert table ${name} not found`, {
      code: 'missing-file',
      file: join(root, name),
      hint: `a CheXpert folder holds train.csv and valid.csv next to (or inside) ${CHEXPERT_IMAGE_DIRS[0]}/; point --data at the folder above ${CHEXPERT_IMAGE_DIRS[0]}/`,
    });
  }
  const views = parseViews(opts.views);
  const bad = new BadInput(opts.policy);
  const records: CaseRecord[] = [];
  let cols: Columns | undefined;
  let base: string | undefined;
  let filtered = 0;
  const classCols: number[] = [];
  await streamCsv(csv, bad, {
    header(cells) {
      cols = locateChexpertColumns(csv, cells);
      for (const c of CHEXPERT_CLASSES) classCols.push(cols[c]);
    },
    row(cells, line) {
      const c = cols!;
      const rel = cells[c.Path]!.trim();
      const problem = rowProblem(rel, cells, c, classCols);
      if (problem) return bad.report({ file: csv, line, column: problem[0], value: problem[1], reason: problem[2] });
      base ??= pathBase(root, csv, rel);
      const path = resolveInside(base, rel);
      if (!path) return bad.report({ file: csv, line, column: 'Path', value: rel, reason: 'the image path escapes the data root' });
      const m = PATIENT_STUDY.exec(rel)!;
      const raw = new Float32Array(CHEXPERT_CLASSES.length);
      for (let k = 0; k < classCols.length; k++) raw[k] = parseLabelCell(cells[classCols[k]!]!)!;
      let view: CaseRecord['view'];
      if (c['Frontal/Lateral'] !== undefined) {
        const fl = cells[c['Frontal/Lateral']]!.trim().toLowerCase();
        if (fl === 'frontal' || fl === 'lateral') view = fl;
      } else if (/frontal/i.test(rel)) view = 'frontal';
      else if (/lateral/i.test(rel)) view = 'lateral';
      const age = c.Age !== undefined ? parseOptionalNumber(cells[c.Age]!) : undefined;
      const projection = c['AP/PA'] !== undefined ? cells[c['AP/PA']]!.trim() || undefined : undefined;
      const sex = c.Sex !== undefined ? cells[c.Sex]!.trim() || undefined : undefined;
      const rec: CaseRecord = { id: rel, path, patientId: m[1]!, raw, source: { file: csv, line } };
      if (m[2]) rec.studyId = `${m[1]}/${m[2]}`;
      if (view) rec.view = view;
      if (projection) rec.projection = projection;
      if (sex) rec.sex = sex;
      if (age !== undefined) rec.age = age;
      if (!matchesViews(rec, views)) {
        filtered++;
        return;
      }
      records.push(rec);
    },
  }, 'label table');
  return { classes: [...CHEXPERT_CLASSES], records, skipped: bad.skipped, files: [csv], filtered };
}
