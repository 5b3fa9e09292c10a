/**
 * An ensemble's members: finished run folders (or ensemble folders: ensembles nest), read through
 * the files their end-of-training evaluation wrote (predictions-, labels-{val,test}.csv, config.json)
 * and checked against each other: the same classes in the same order, and the same cases with the
 * same labels in each split. Cross-validation folds are the one exception: their val sets are
 * disjoint by design (`outOfFold`), and only their test sets must agree.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { readCsvFile } from '../util/csv.js';
import { readPredictionFiles, type PredictionData } from '../metrics/prediction-files.js';
import { ENSEMBLE_FORMAT, withDefaults, type RunConfig } from '../training/run/config.js';
import { RUN_FILES } from '../training/run/store.js';
import { MedtrainError, listForMessage } from '../util/errors.js';
import { exists } from '../util/fs.js';

export interface Member {
  /** The folder, absolute. */
  dir: string;
  /** Its name: the benchmark's canonical name, or an ensemble's. */
  name: string;
  kind: 'run' | 'ensemble';
  classes: string[];
  /** How it chose its thresholds on val (the ensemble chooses its own the same way). */
  thresholdMethod: string;
  val: PredictionData;
  test: PredictionData | null;
  /** The patient of each val case (split-val.csv), when the member has it. */
  patients: Map<string, string> | null;
}

/** What config.json says about a folder: a training run or an ensemble. */
export async function folderKind(dir: string): Promise<{ kind: 'run' | 'ensemble'; config: Record<string, unknown> }> {
  const file = join(dir, RUN_FILES.config);
  let config: Record<string, unknown>;
  try {
    config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new MedtrainError(missing ? 'not a run folder (no config.json)' : `config.json cannot be read: ${(e as Error).message}`, { code: 'not-a-run', file: missing ? resolve(dir) : file, hint: 'give a folder that training or `medtrain ensemble` wrote' });
  }
  return { kind: config.format === ENSEMBLE_FORMAT ? 'ensemble' : 'run', config };
}

async function splitFiles(dir: string, split: 'val' | 'test'): Promise<PredictionData | null> {
  const p = join(dir, `predictions-${split}.csv`);
  const l = join(dir, `labels-${split}.csv`);
  if (!(await exists(p)) || !(await exists(l))) return null;
  return readPredictionFiles(p, l);
}

async function patientsOf(dir: string): Promise<Map<string, string> | null> {
  const f = join(dir, RUN_FILES.splitVal);
  if (!(await exists(f))) return null;
  const t = readCsvFile(f, 'split file');
  const id = t.header.indexOf('id');
  const patient = t.header.indexOf('patient');
  if (id < 0 || patient < 0) return null;
  return new Map(t.rows.map((r) => [r[id]!, r[patient]!]));
}

/** Read one member folder. */
export async function readMember(dir: string): Promise<Member> {
  const abs = resolve(dir);
  const { kind, config } = await folderKind(abs);
  const val = await splitFiles(abs, 'val');
  if (!val) {
    throw new MedtrainError(`the ${kind} has no predictions on its val split (${RUN_FILES.predictionsVal}, ${RUN_FILES.labelsVal})`, {
      code: 'unfinished-run',
      file: abs,
      hint: kind === 'run' ? `the run has not finished: finish it with \`medtrain train --resume ${dir}\`` : 'the ensemble folder is incomplete: make it again',
    });
  }
  const thresholdMethod = kind === 'ensemble' ? String(config.thresholds ?? 'youden') : String(withDefaults(config as unknown as RunConfig).training.thresholds);
  return { dir: abs, name: String(config.name ?? basename(abs)), kind, classes: val.classes, thresholdMethod, val, test: await splitFiles(abs, 'test'), patients: kind === 'run' ? await patientsOf(abs) : null };
}

/** The first case (by id) whose labels differ between two members' files of a split, or null. */
function labelMismatch(a: PredictionData, b: PredictionData, rowOfB: Map<string, number>): { id: string; cls: string } | null {
  const C = a.classes.length;
  for (let i = 0; i < a.ids.length; i++) {
    const j = rowOfB.get(a.ids[i]!);
    if (j === undefined) continue;
    for (let c = 0; c < C; c++) {
      if (a.labels[i * C + c] !== b.labels[j * C + c]) return { id: a.ids[i]!, cls: a.classes[c]! };
    }
  }
  return null;
}

function idsDiffer(a: PredictionData, b: PredictionData): string | null {
  const inB = new Set(b.ids);
  const inA = new Set(a.ids);
  const onlyA = a.ids.filter((id) => !inB.has(id));
  const onlyB = b.ids.filter((id) => !inA.has(id));
  if (!onlyA.length && !onlyB.length) return null;
  return [onlyA.length ? `${onlyA.length} case(s) only in the first (${listForMessage(onlyA, 3)})` : '', onlyB.length ? `${onlyB.length} only in this one (${listForMessage(onlyB, 3)})` : ''].filter(Boolean).join('; ');
}

/**
 * Check that members can be combined (see the top of the file); throws an error naming the member
 * and file that differ. With `outOfFold`, the val sets must be disjoint instead of equal.
 */
export function checkMembers(members: readonly Member[], o: { outOfFold?: boolean } = {}): void {
  if (members.length < 2) throw new MedtrainError('an ensemble needs at least two members', { code: 'bad-flag', column: '--runs', value: members.length, hint: 'give two or more run folders after --runs' });
  const seen = new Map<string, number>();
  members.forEach((m, i) => {
    if (seen.has(m.dir)) throw new MedtrainError('the same folder is given twice', { code: 'bad-flag', column: '--runs', file: m.dir, hint: `members ${seen.get(m.dir)! + 1} and ${i + 1} are the same run` });
    seen.set(m.dir, i);
  });
  const first = members[0]!;
  for (const m of members.slice(1)) {
    if (m.classes.join('\u0000') !== first.classes.join('\u0000')) {
      throw new MedtrainError(`the members have different classes: ${first.name} has ${listForMessage(first.classes, 20)}, this one ${listForMessage(m.classes, 20)}`, { code: 'members-differ', file: join(m.dir, RUN_FILES.predictionsVal), hint: 'ensemble runs trained on the same classes, in the same order' });
    }
    if (!!m.test !== !!first.test) {
      const without = m.test ? first : m;
      throw new MedtrainError('one member has a test split and another has none', { code: 'members-differ', file: join(without.dir, RUN_FILES.predictionsTest), hint: 'ensemble runs of the same data and split' });
    }
    const splits = o.outOfFold ? (['test'] as const) : (['val', 'test'] as const);
    for (const split of splits) {
      const a = first[split];
      const b = m[split];
      if (!a || !b) continue;
      const file = join(m.dir, `predictions-${split}.csv`);
      const diff = idsDiffer(a, b);
      if (diff) throw new MedtrainError(`the members' ${split} splits hold different cases: ${diff}`, { code: 'members-differ', file, hint: `ensemble runs of the same data and split (same DS and seed); the first member is ${first.dir}` });
      const bad = labelMismatch(a, b, new Map(b.ids.map((id, i) => [id, i])));
      if (bad) throw new MedtrainError(`the members label the ${split} case differently (class ${bad.cls})`, { code: 'members-differ', file: join(m.dir, `labels-${split}.csv`), value: bad.id, hint: `ensemble runs with the same label encoding (uncertainty and blank policies); the first member is ${first.dir}` });
    }
  }
  if (o.outOfFold) {
    const owner = new Map<string, string>();
    for (const m of members) {
      for (const id of m.val.ids) {
        const other = owner.get(id);
        if (other !== undefined) throw new MedtrainError("the folds' val sets overlap", { code: 'members-differ', file: join(m.dir, RUN_FILES.predictionsVal), value: id, hint: `the case is also in ${other}'s val set: cross-validation folds have disjoint val sets` });
        owner.set(id, m.dir);
      }
    }
  }
}
