/**
 * What a dataset holds before anyone trains on it: rows, patients, studies, views, the split sizes,
 * per-class counts after the encoding and blank policy, and every skipped row or file with its reason.
 * The library side of `medtrain inspect-data`; it opens the data exactly as a run does (openDataset).
 */
import { promises as fsp } from 'node:fs';
import type { CaseRecord, ClassStats, SkippedItem } from '../core/types.js';
import { openDataset, type DatasetOptions, type SplitPart } from './dataset.js';
import { decodeImage } from './image/decode.js';
import { classStats, type BlankPolicy } from './labels/encode.js';
import { formatSkipped, summarizeSkipped } from './skipped.js';

/** As openDataset takes them, but bad label rows are skipped and listed by default (`onBadRow: 'skip'`): inspecting is for seeing them all. */
export interface InspectOptions extends Omit<DatasetOptions, 'split'> {
  /** Image check: 'exists' (default: every file is there and not empty), 'decode' (every image decodes), 'none'. */
  checkImages?: 'none' | 'exists' | 'decode';
}

export interface DataReport {
  dataset: 'chexpert' | 'chestxray14' | 'generic';
  root: string;
  tables: string[];
  rows: number;
  patients: number;
  studies: number;
  views: Record<string, number>;
  split: { train: number; val: number; test: number };
  /** Per class over the training split: uncertain and blank count raw cells; positive, negative and masked count after encoding. */
  classes: Record<string, ClassStats>;
  classesBySplit: { train: Record<string, ClassStats>; val: Record<string, ClassStats>; test: Record<string, ClassStats> };
  settings: { classes: string[]; uncertainty: Record<string, string>; blank: BlankPolicy; noFindingImpliesNegative: boolean; val: number; seed: string; views: string | null; checkImages: string; onBadRow: string };
  /** Rows left out by the view filter or the official split lists (not errors). */
  filtered: number;
  /** Table rows left out (skip policy) and image files that are missing or unreadable. */
  skipped: SkippedItem[];
}

async function checkImageFiles(records: readonly CaseRecord[], mode: 'exists' | 'decode'): Promise<SkippedItem[]> {
  const out: SkippedItem[] = [];
  let next = 0;
  const work = async () => {
    while (next < records.length) {
      const r = records[next++]!;
      let reason: string | null = null;
      try {
        const st = await fsp.stat(r.path);
        if (!st.isFile()) reason = 'not a file';
        else if (st.size === 0) reason = 'empty file';
        else if (mode === 'decode') await decodeImage(await fsp.readFile(r.path));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        reason = code === 'ENOENT' ? 'missing file' : code ? `unreadable file (${code})` : (e as Error).message;
      }
      if (reason) out.push({ file: r.path, value: r.id, reason, source: r.source });
    }
  };
  await Promise.all(Array.from({ length: mode === 'decode' ? 4 : 32 }, work));
  return out.sort((a, b) => a.source!.file.localeCompare(b.source!.file) || a.source!.line - b.source!.line);
}

export async function inspectData(dir: string, opts: InspectOptions = {}): Promise<DataReport> {
  const ds = await openDataset(dir, { ...opts, onBadRow: opts.onBadRow ?? 'skip' });
  const check = opts.checkImages ?? 'exists';
  const test = ds.test ?? { records: [], labels: new Float32Array(0) };
  const records = [...ds.train.records, ...ds.val.records, ...test.records];
  const imageProblems = check === 'none' ? [] : await checkImageFiles(records, check);
  const statsOf = (p: SplitPart) => classStats(p.records, p.labels, ds.classes);
  const views: Record<string, number> = {};
  for (const r of records) {
    if (r.view) views[r.view] = (views[r.view] ?? 0) + 1;
    if (r.projection) views[r.projection] = (views[r.projection] ?? 0) + 1;
  }
  const trainStats = statsOf(ds.train);
  return {
    dataset: ds.kind,
    root: ds.root,
    tables: ds.tables,
    rows: records.length,
    patients: new Set(records.map((r) => r.patientId)).size,
    studies: new Set(records.map((r) => r.studyId ?? `${r.patientId}/${r.id}`)).size,
    views,
    split: { train: ds.train.records.length, val: ds.val.records.length, test: test.records.length },
    classes: trainStats,
    classesBySplit: { train: trainStats, val: statsOf(ds.val), test: statsOf(test) },
    settings: {
      classes: ds.classes.names,
      uncertainty: Object.fromEntries(ds.classes.names.map((n, i) => [n, ds.modes[i]!])),
      blank: ds.settings.blank,
      noFindingImpliesNegative: ds.settings.noFindingImpliesNegative,
      val: ds.settings.val,
      seed: ds.settings.seed,
      views: ds.settings.views,
      checkImages: check,
      onBadRow: ds.settings.onBadRow,
    },
    filtered: ds.filtered,
    skipped: [...ds.skipped, ...imageProblems],
  };
}

/** A plain-text report for the terminal. */
export function formatDataReport(r: DataReport, maxSkipped = 20): string {
  const lines: string[] = [];
  lines.push(`${r.dataset} at ${r.root}`);
  lines.push(`  rows ${r.rows}, patients ${r.patients}, studies ${r.studies}${r.filtered ? `, ${r.filtered} rows filtered out` : ''}`);
  lines.push(`  views: ${Object.entries(r.views).map(([k, v]) => `${k} ${v}`).join(', ') || 'not recorded'}`);
  lines.push(`  split (val ${r.settings.val}, seed ${r.settings.seed}, by patient): train ${r.split.train}, val ${r.split.val}, test ${r.split.test}`);
  lines.push(`  blank → ${r.settings.blank}${r.settings.noFindingImpliesNegative ? ' (No Finding = 1 implies blank findings are 0)' : ''}`);
  lines.push('');
  lines.push('  training split, per class:');
  const w = Math.max(5, ...Object.keys(r.classes).map((k) => k.length));
  lines.push(`  ${'class'.padEnd(w)}  ${['positive', 'negative', 'uncertain', 'blank', 'masked'].map((h) => h.padStart(9)).join(' ')}  uncertain →`);
  for (const [name, s] of Object.entries(r.classes)) {
    lines.push(`  ${name.padEnd(w)}  ${[s.positive, s.negative, s.uncertain, s.blank, s.masked].map((v) => String(v).padStart(9)).join(' ')}  ${r.settings.uncertainty[name]}`);
  }
  lines.push('');
  if (r.skipped.length === 0) lines.push('  nothing skipped');
  else {
    const { byReason } = summarizeSkipped(r.skipped);
    lines.push(`  skipped ${r.skipped.length} (${Object.entries(byReason).map(([reason, n]) => `${n} ${reason}`).join('; ')}):`);
    for (const l of formatSkipped(r.skipped, maxSkipped)) lines.push(`    ${l}`);
    if (r.skipped.length > maxSkipped) lines[lines.length - 1] += ' (--json lists all)';
  }
  return `${lines.join('\n')}\n`;
}
