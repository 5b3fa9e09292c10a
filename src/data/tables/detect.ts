/**
 * Recognise a dataset folder: CheXpert-like (`train.csv`, `valid.csv`, `CheXpert-v1.0-small/`, as
 * the official archive or the phantom set lays it out) or ChestX-ray14 (`Data_Entry_2017.csv`).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import { CHESTXRAY14_TABLES } from './chestxray14.js';
import { CHEXPERT_IMAGE_DIRS, findChexpertCsv } from './chexpert.js';

/** The dataset kinds medtrain reads (and a benchmark name may name). */
export const DATASETS = ['chexpert', 'chestxray14'] as const;
export type DatasetName = (typeof DATASETS)[number];

/** The dataset a word names, any case: chexpert; chestxray14 or chestxray (the reference codebase's spelling). */
export function datasetOf(word: string): DatasetName | undefined {
  const w = word.trim().toLowerCase();
  if (w === 'chexpert') return 'chexpert';
  if (w === 'chestxray' || w === 'chestxray14') return 'chestxray14';
  return undefined;
}

export type DetectedDataset =
  | { kind: 'chexpert'; root: string; train: string; valid: string | null }
  | { kind: 'chestxray14'; root: string; table: string; trainValList: string | null; testList: string | null }
  | { kind: 'unknown'; root: string; csvFiles: string[] };

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

/** What a dataset folder holds, for messages about a data path that is not one. */
export const DATASET_FOLDER =
  'a dataset folder holds CheXpert\'s train.csv, valid.csv and CheXpert-v1.0-small/ (the images), or ChestX-ray14\'s Data_Entry_2017.csv, train_val_list.txt, test_list.txt and the images; another label table is read with --table FILE --path-column COL';

/**
 * The error for a data path that is a file: it names the file, says a folder is needed and what
 * one holds (a label table given itself is the usual mistake: its folder is the data folder).
 */
export function dataPathIsFile(file: string, flag = '--data'): MedtrainError {
  return new MedtrainError('the data path is a file, not a folder', { code: 'not-a-folder', file, column: flag, hint: `point ${flag} at the folder that holds it (${dirname(file)}?): ${DATASET_FOLDER}` });
}

export function detectDataset(dir: string): DetectedDataset {
  let root = resolve(dir);
  if (!isDir(root)) {
    if (existsSync(root)) throw dataPathIsFile(root);
    throw new MedtrainError('data folder not found', { code: 'missing-file', file: root, hint: `point --data at the dataset folder: ${DATASET_FOLDER}` });
  }
  // Pointed at the image folder itself (CheXpert-v1.0-small/ holding train.csv): its parent is the root.
  if ((CHEXPERT_IMAGE_DIRS as readonly string[]).includes(basename(root)) && existsSync(join(root, 'train.csv'))) root = dirname(root);
  const train = findChexpertCsv(root, 'train.csv');
  if (train && CHEXPERT_IMAGE_DIRS.some((d) => isDir(join(root, d)))) {
    return { kind: 'chexpert', root, train, valid: findChexpertCsv(root, 'valid.csv') };
  }
  const table = CHESTXRAY14_TABLES.map((f) => join(root, f)).find((f) => existsSync(f));
  if (table) {
    const opt = (f: string) => (existsSync(join(root, f)) ? join(root, f) : null);
    return { kind: 'chestxray14', root, table, trainValList: opt('train_val_list.txt'), testList: opt('test_list.txt') };
  }
  if (train) return { kind: 'chexpert', root, train, valid: findChexpertCsv(root, 'valid.csv') };
  let csvFiles: string[] = [];
  try {
    csvFiles = readdirSync(root).filter((f) => f.toLowerCase().endsWith('.csv')).map((f) => join(root, f));
  } catch {
    // unreadable folder: no CSVs to list
  }
  return { kind: 'unknown', root, csvFiles };
}
