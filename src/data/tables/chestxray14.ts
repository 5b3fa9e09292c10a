/**
 * ChestX-ray14 (NIH) label tables: `Data_Entry_2017.csv` with `|`-separated `Finding Labels`, the
 * official `train_val_list.txt` / `test_list.txt`, and images in `images/` or the archive's
 * `images_NNN/images/` folders.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import type { CaseRecord, LabelTable } from '../../core/types.js';
import { parseOptionalNumber, resolveInside, type TableOptions } from './cells.js';
import { BadInput } from '../../util/bad-input.js';
import { locateColumns, streamCsv } from '../../util/csv.js';

/** The 14 findings, in the order the NIH paper lists them. */
export const CHESTXRAY14_CLASSES = [
  'Atelectasis',
  'Cardiomegaly',
  'Effusion',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pneumonia',
  'Pneumothorax',
  'Consolidation',
  'Edema',
  'Emphysema',
  'Fibrosis',
  'Pleural_Thickening',
  'Hernia',
] as const;

export const CHESTXRAY14_TABLES = ['Data_Entry_2017.csv', 'Data_Entry_2017_v2020.csv'] as const;

export interface ChestXray14Options extends TableOptions {
  /** The data entry CSV (default: Data_Entry_2017.csv or Data_Entry_2017_v2020.csv in the root). */
  file?: string;
  /** 'all' (default), or the rows the official list names: 'train_val' (train_val_list.txt) or 'test' (test_list.txt). */
  split?: 'all' | 'train_val' | 'test';
}

const LIST_FILES = { train_val: 'train_val_list.txt', test: 'test_list.txt' } as const;

/** Map image file names to their folder, over `images/` and `images_*\/images/`. */
async function indexImages(root: string): Promise<Map<string, string>> {
  const dirs: string[] = [];
  const entries = await fsp.readdir(root, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    if (e.name === 'images') dirs.push('images');
    else if (/^images_\d+$/.test(e.name)) {
      dirs.push(existsSync(join(root, e.name, 'images')) ? `${e.name}/images` : e.name);
    }
  }
  const index = new Map<string, string>();
  for (const d of dirs.sort()) {
    for (const f of await fsp.readdir(join(root, d)).catch(() => [] as string[])) if (!index.has(f)) index.set(f, d);
  }
  return index;
}

async function readList(root: string, name: string): Promise<Set<string>> {
  const file = join(root, name);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    throw new MedtrainError('official split list not found', { code: 'missing-file', file, hint: `ChestX-ray14 ships ${name} beside Data_Entry_2017.csv; or read with split 'all'` });
  }
  return new Set(text.split(/\r?\n/).map((s) => s.trim()).filter(Boolean));
}

/** Read ChestX-ray14's data entry table. Raw cells: 1 when the finding is listed, 0 otherwise. */
export async function readChestXray14(dataRoot: string, opts: ChestXray14Options = {}): Promise<LabelTable> {
  const root = resolve(dataRoot);
  const csv = opts.file ? resolve(root, opts.file) : (CHESTXRAY14_TABLES.map((f) => join(root, f)).find((f) => existsSync(f)) ?? join(root, CHESTXRAY14_TABLES[0]));
  const split = opts.split ?? 'all';
  const keep = split === 'all' ? null : await readList(root, LIST_FILES[split]);
  const images = await indexImages(root);
  const classIndex = new Map<string, number>(CHESTXRAY14_CLASSES.map((c, i) => [c.toLowerCase(), i]));
  const bad = new BadInput(opts.policy);
  const records: CaseRecord[] = [];
  let filtered = 0;
  let cols: ReturnType<typeof locate> | undefined;
  const locate = (h: string[]) => locateColumns(csv, h, ['Image Index', 'Finding Labels', 'Patient ID'], ['Follow-up #', 'Patient Age', 'Patient Gender', 'View Position']);
  await streamCsv(csv, bad, {
    header(cells) {
      cols = locate(cells);
    },
    row(cells, line) {
      const c = cols!;
      const problem = (column: string, value: string, reason: string) => bad.report({ file: csv, line, column, value, reason });
      const name = cells[c['Image Index']]!.trim();
      if (!name) return problem('Image Index', '', 'empty image name');
      if (keep && !keep.has(name)) {
        filtered++;
        return;
      }
      const rel = `${images.get(name) ?? 'images'}/${name}`;
      const path = resolveInside(root, rel);
      if (!path || name.includes('/') || name.includes('\\')) return problem('Image Index', name, 'the image name must be a file name inside the image folders');
      const raw = new Float32Array(CHESTXRAY14_CLASSES.length);
      const labels = cells[c['Finding Labels']]!.trim();
      if (labels === '') return problem('Finding Labels', labels, 'empty Finding Labels (write "No Finding" for none)');
      if (labels.toLowerCase() !== 'no finding') {
        for (const l of labels.split('|')) {
          const k = classIndex.get(l.trim().toLowerCase().replace(/ /g, '_'));
          if (k === undefined) return problem('Finding Labels', labels, `unknown finding '${l.trim()}' (known: ${CHESTXRAY14_CLASSES.join(', ')}, or No Finding)`);
          raw[k] = 1;
        }
      }
      const patient = cells[c['Patient ID']]!.trim();
      if (!patient) return problem('Patient ID', '', 'empty patient id');
      let age: number | undefined;
      if (c['Patient Age'] !== undefined) {
        const text = cells[c['Patient Age']]!.trim();
        const m = /^(\d+)\s*([YMD]?)$/i.exec(text);
        if (text && !m) return problem('Patient Age', text, 'age is not a number (like 58 or 058Y)');
        if (m) {
          const unit = m[2]!.toUpperCase();
          age = unit === 'M' ? Number(m[1]) / 12 : unit === 'D' ? Number(m[1]) / 365 : Number(m[1]);
        }
      }
      const followUp = c['Follow-up #'] !== undefined ? parseOptionalNumber(cells[c['Follow-up #']]!) : undefined;
      const projection = c['View Position'] !== undefined ? cells[c['View Position']]!.trim().toUpperCase() || undefined : undefined;
      const sex = c['Patient Gender'] !== undefined ? cells[c['Patient Gender']]!.trim() || undefined : undefined;
      records.push({
        id: name,
        path,
        patientId: patient,
        ...(followUp !== undefined && !Number.isNaN(followUp) && { studyId: `${patient}/${followUp}` }),
        ...(projection && { projection }),
        ...((projection === 'PA' || projection === 'AP') && { view: 'frontal' as const }),
        ...(projection === 'LL' || projection === 'RL' ? { view: 'lateral' as const } : {}),
        ...(sex && { sex }),
        ...(age !== undefined && { age }),
        raw,
        source: { file: csv, line },
      });
    },
  }, 'ChestX-ray14 data entry table');
  return { classes: [...CHESTXRAY14_CLASSES], records, skipped: bad.skipped, files: keep ? [csv, join(root, LIST_FILES[split as 'train_val' | 'test'])] : [csv], filtered };
}
