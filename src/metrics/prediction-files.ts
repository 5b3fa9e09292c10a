/**
 * Reading a predictions CSV and a labels CSV for evaluation, so any model's outputs (medtrain's or
 * a Python model's) can be scored the same way.
 *
 * Predictions: a header row, then one row per case: the case id in the first column and one
 * score column per class (probabilities, or any real-valued score). Labels: a header row and the
 * same ids in its first column, with (at least) a column for every class of the predictions, in
 * any order: 1 / 1.0 positive, 0 / 0.0 negative, blank or -1 / -1.0 masked (not labelled, e.g.
 * CheXpert's uncertain). Extra label columns are ignored and listed. Every problem is an error that
 * names the file, line, column and value.
 */
import { readCsvFile, type CsvTable } from '../util/csv.js';
import { MedtrainError, listForMessage } from '../util/errors.js';
import { MASKED } from '../core/types.js';

/** A CSV file with a unique name per header column. */
function readCsv(file: string, what: string): CsvTable {
  const t = readCsvFile(file, `${what} file`);
  const seen = new Set<string>();
  for (const [i, h] of t.header.entries()) {
    if (seen.has(h)) throw new MedtrainError(`column name "${h}" appears twice in the header`, { code: 'bad-csv', file, line: 1, column: i + 1, value: h });
    seen.add(h);
  }
  return t;
}

function idsOf(t: CsvTable, what: string): Map<string, number> {
  const m = new Map<string, number>();
  t.rows.forEach((r, i) => {
    const id = r[0]!.trim();
    if (id === '') throw new MedtrainError(`empty case id in the ${what} file`, { code: 'bad-id', file: t.file, line: t.lines[i], column: t.header[0] });
    const prev = m.get(id);
    if (prev !== undefined) throw new MedtrainError(`case id "${id}" appears twice in the ${what} file (lines ${t.lines[prev]} and ${t.lines[i]})`, { code: 'duplicate-id', file: t.file, line: t.lines[i], value: id });
    m.set(id, i);
  });
  return m;
}

export interface PredictionData {
  classes: string[];
  ids: string[];
  /** [rows, classes] row-major scores. */
  scores: Float64Array;
  /** [rows, classes] row-major labels (1, 0, MASKED), in the predictions' row order. */
  labels: Float32Array;
  /** Label columns that are not classes of the predictions (ignored). */
  ignoredLabelColumns: string[];
  /** Values of an extra label column per row (e.g. a patient id for grouped bootstrap), when asked for. */
  groups?: string[];
}

/** Parse a score cell: any finite number. */
function scoreCell(t: CsvTable, i: number, col: number): number {
  const raw = t.rows[i]![col]!;
  const s = raw.trim();
  const v = s === '' ? NaN : Number(s);
  if (!Number.isFinite(v)) {
    throw new MedtrainError('prediction is not a finite number', { code: 'bad-number', file: t.file, line: t.lines[i], column: t.header[col], value: raw, hint: 'every class needs a score for every case' });
  }
  return v;
}

/** Parse a label cell: 1, 0, -1 or blank (in any numeric spelling, e.g. 1.0). */
function labelCell(t: CsvTable, i: number, col: number): number {
  const raw = t.rows[i]![col]!;
  const s = raw.trim();
  if (s === '') return MASKED;
  const v = Number(s);
  if (v === 1 || v === 0) return v;
  if (v === -1) return MASKED;
  throw new MedtrainError('label must be 1, 0, -1 (masked) or blank (masked)', { code: 'bad-label', file: t.file, line: t.lines[i], column: t.header[col], value: raw });
}

/**
 * Read and align a predictions file and a labels file. `groupColumn` names a labels column whose
 * value per case (a patient id) is returned in `groups`.
 */
export function readPredictionFiles(predictionsFile: string, labelsFile: string, opts: { groupColumn?: string } = {}): PredictionData {
  const pred = readCsv(predictionsFile, 'predictions');
  const lab = readCsv(labelsFile, 'labels');
  const classes = pred.header.slice(1);
  if (classes.length === 0) throw new MedtrainError('the predictions file has no class columns', { code: 'missing-columns', file: pred.file, hint: 'header: id, then one column per class' });
  const labelCol = new Map(lab.header.map((h, i) => [h, i] as [string, number]));
  const missing = classes.filter((c) => !labelCol.has(c) || labelCol.get(c) === 0);
  if (missing.length) {
    throw new MedtrainError(`the labels file lacks ${missing.length} class column(s) of the predictions: ${listForMessage(missing)}`, {
      code: 'missing-columns',
      file: lab.file,
      hint: `its columns are: ${listForMessage(lab.header)}; name the class columns of both files alike`,
    });
  }
  let groupCol = -1;
  if (opts.groupColumn !== undefined) {
    groupCol = labelCol.get(opts.groupColumn) ?? -1;
    if (groupCol < 0) throw new MedtrainError(`the labels file has no column "${opts.groupColumn}" to group cases by`, { code: 'missing-columns', file: lab.file, hint: `its columns are: ${listForMessage(lab.header)}` });
  }
  const predIds = idsOf(pred, 'predictions');
  const labIds = idsOf(lab, 'labels');
  const onlyPred = [...predIds.keys()].filter((id) => !labIds.has(id));
  const onlyLab = [...labIds.keys()].filter((id) => !predIds.has(id));
  if (onlyPred.length || onlyLab.length) {
    const parts: string[] = [];
    if (onlyPred.length) parts.push(`${onlyPred.length} id(s) of ${pred.file} are not in ${lab.file}: ${listForMessage(onlyPred, 5)}`);
    if (onlyLab.length) parts.push(`${onlyLab.length} id(s) of ${lab.file} are not in ${pred.file}: ${listForMessage(onlyLab, 5)}`);
    throw new MedtrainError(`the two files do not list the same cases: ${parts.join('; ')}`, {
      code: 'id-mismatch',
      hint: 'both files need one row per case with the same ids in their first column',
    });
  }
  const rows = pred.rows.length;
  const C = classes.length;
  const scores = new Float64Array(rows * C);
  const labels = new Float32Array(rows * C);
  const ids: string[] = [];
  const groups: string[] = [];
  const cols = classes.map((c) => labelCol.get(c)!);
  for (let i = 0; i < rows; i++) {
    const id = pred.rows[i]![0]!.trim();
    ids.push(id);
    const li = labIds.get(id)!;
    for (let c = 0; c < C; c++) {
      scores[i * C + c] = scoreCell(pred, i, c + 1);
      labels[i * C + c] = labelCell(lab, li, cols[c]!);
    }
    if (groupCol >= 0) groups.push(lab.rows[li]![groupCol]!.trim());
  }
  const used = new Set([0, ...cols, ...(groupCol >= 0 ? [groupCol] : [])]);
  const ignoredLabelColumns = lab.header.filter((_, i) => !used.has(i));
  return { classes, ids, scores, labels, ignoredLabelColumns, ...(groupCol >= 0 && { groups }) };
}

/**
 * Read a second model's predictions for the same cases and classes, aligned to `base.ids`
 * (for the paired DeLong test).
 */
export function readAlignedPredictions(file: string, base: PredictionData): Float64Array {
  const t = readCsv(file, 'comparison predictions');
  const col = new Map(t.header.map((h, i) => [h, i] as [string, number]));
  const missing = base.classes.filter((c) => !col.has(c) || col.get(c) === 0);
  if (missing.length) throw new MedtrainError(`the comparison predictions lack class column(s): ${listForMessage(missing)}`, { code: 'missing-columns', file });
  const ids = idsOf(t, 'comparison predictions');
  const absent = base.ids.filter((id) => !ids.has(id));
  const baseIds = new Set(base.ids);
  const extra = [...ids.keys()].filter((id) => !baseIds.has(id));
  if (absent.length || extra.length) {
    throw new MedtrainError(`the comparison predictions do not list the same cases (${absent.length} missing: ${listForMessage(absent, 5)}; ${extra.length} extra: ${listForMessage(extra, 5)})`, {
      code: 'id-mismatch',
      file,
      hint: 'a paired comparison needs both models scored on the same cases',
    });
  }
  const C = base.classes.length;
  const out = new Float64Array(base.ids.length * C);
  base.ids.forEach((id, i) => {
    const r = ids.get(id)!;
    base.classes.forEach((c, k) => {
      out[i * C + k] = scoreCell(t, r, col.get(c)!);
    });
  });
  return out;
}
