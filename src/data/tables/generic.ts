/**
 * A generic label table for other datasets (bone-marrow smear tiles, say): one image path column,
 * named label columns with 1 / 0 / -1 / blank cells, and optional patient, study and view columns.
 */
import { dirname, resolve } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import type { CaseRecord, LabelTable } from '../../core/types.js';
import { parseLabelCell, resolveInside, type TableOptions } from './cells.js';
import { BadInput } from '../../util/bad-input.js';
import { locateColumns, streamCsv } from '../../util/csv.js';

export interface GenericCsvOptions extends TableOptions {
  /** Folder the image paths are relative to (default: the CSV's folder). */
  root?: string;
  /** The image path column (default 'Path'). */
  pathColumn?: string;
  /** The label columns, in class order (default: every column not named below). */
  labelColumns?: readonly string[];
  /** The patient column; without one every image is its own patient (splits cannot group then). */
  patientColumn?: string;
  studyColumn?: string;
  /** A column whose values say 'frontal' or 'lateral' (anything else is kept as the projection). */
  viewColumn?: string;
}

export async function readGenericCsv(csvPath: string, opts: GenericCsvOptions = {}): Promise<LabelTable> {
  const csv = resolve(csvPath);
  const root = resolve(opts.root ?? dirname(csv));
  const pathCol = opts.pathColumn ?? 'Path';
  const named = [pathCol, opts.patientColumn, opts.studyColumn, opts.viewColumn].filter((x): x is string => !!x);
  const bad = new BadInput(opts.policy);
  const records: CaseRecord[] = [];
  let classes: string[] = [];
  let labelIdx: number[] = [];
  let idx: Record<string, number> = {};
  await streamCsv(csv, bad, {
    header(cells) {
      const wanted = opts.labelColumns ? [...opts.labelColumns] : cells.filter((h) => !named.some((n) => n.toLowerCase() === h.toLowerCase()));
      if (wanted.length === 0) throw new MedtrainError('the table has no label columns', { code: 'missing-columns', file: csv, line: 1, hint: `columns found: ${cells.join(', ')}; name the label columns` });
      idx = locateColumns(csv, cells, [...named, ...wanted]);
      classes = wanted;
      labelIdx = wanted.map((w) => idx[w]!);
    },
    row(cells, line) {
      const problem = (column: string, value: string, reason: string) => bad.report({ file: csv, line, column, value, reason });
      const rel = cells[idx[pathCol]!]!.trim();
      if (!rel) return problem(pathCol, '', 'empty image path');
      const path = resolveInside(root, rel);
      if (!path) return problem(pathCol, rel, 'the image path escapes the data root');
      const raw = new Float32Array(classes.length);
      for (let k = 0; k < classes.length; k++) {
        const text = cells[labelIdx[k]!]!;
        const v = parseLabelCell(text);
        if (v === undefined) return problem(classes[k]!, text, 'label outside {1, 0, -1, blank}');
        raw[k] = v;
      }
      const patient = opts.patientColumn ? cells[idx[opts.patientColumn]!]!.trim() : rel;
      if (!patient) return problem(opts.patientColumn!, '', 'empty patient id');
      const study = opts.studyColumn ? cells[idx[opts.studyColumn]!]!.trim() : '';
      const viewText = opts.viewColumn ? cells[idx[opts.viewColumn]!]!.trim() : '';
      const lower = viewText.toLowerCase();
      records.push({
        id: rel,
        path,
        patientId: patient,
        ...(study && { studyId: `${patient}/${study}` }),
        ...(lower === 'frontal' || lower === 'lateral' ? { view: lower } : viewText ? { projection: viewText } : {}),
        raw,
        source: { file: csv, line },
      });
    },
  }, 'label table');
  return { classes, records, skipped: bad.skipped, files: [csv] };
}
