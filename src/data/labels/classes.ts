/**
 * Class sets: which of a table's label columns a model learns. Named sets (N5, N12, N14), 'all' (every
 * class of the table), or an explicit list of class names (matched case-insensitively, spaces,
 * underscores and dashes alike; ChestX-ray14's Effusion and CheXpert's Pleural Effusion are synonyms).
 */
import { MedtrainError, listForMessage } from '../../util/errors.js';
import { CHESTXRAY14_CLASSES } from '../tables/chestxray14.js';
import { CHEXPERT_CLASSES } from '../tables/chexpert.js';
import type { DatasetName } from '../tables/detect.js';

export const N14: readonly string[] = CHEXPERT_CLASSES;
export const N12: readonly string[] = CHEXPERT_CLASSES.filter((c) => c !== 'No Finding' && c !== 'Support Devices');
/** The CheXpert competition set, in SPEC order. */
export const N5: readonly string[] = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'];

/** Named class sets: N14 every observation, N12 without No Finding and Support Devices, N5 the competition set. */
export const CLASS_SETS = ['N5', 'N12', 'N14'] as const;
export type ClassSetName = (typeof CLASS_SETS)[number];

/** The named set a word names ('n5', 'N12', …), or undefined. */
export function classSetOf(word: string): ClassSetName | undefined {
  const w = word.trim().toUpperCase();
  return CLASS_SETS.find((s) => s === w);
}

/** How many classes a named set holds. */
export function classSetSize(set: ClassSetName): number {
  return Number(set.slice(1));
}

/**
 * The class names of a named set for a dataset: CheXpert's N5, N12, N14; ChestX-ray14's N14 (its 14
 * findings) and N5 (with Effusion for Pleural Effusion).
 */
export function classSetNames(dataset: DatasetName, set: ClassSetName): readonly string[] {
  if (dataset === 'chexpert') return set === 'N5' ? N5 : set === 'N12' ? N12 : N14;
  if (set === 'N14') return CHESTXRAY14_CLASSES;
  if (set === 'N5') return N5.map((c) => (c === 'Pleural Effusion' ? 'Effusion' : c));
  throw new MedtrainError('ChestX-ray14 has no N12 class set', { code: 'bad-classes', value: set, hint: 'use N5, N14 or a list of its findings' });
}

/** 'N5', 'N12', 'N14', 'all' (every class of the table), a list of names, or a comma-separated list. */
export type ClassSetSpec = ClassSetName | 'all' | readonly string[] | string;

/** The chosen classes: their names and their columns in the table's raw cells. */
export interface ResolvedClasses {
  names: string[];
  columns: number[];
  /** All the table's classes (the raw cells' order). */
  tableClasses: string[];
}

const SYNONYMS: Record<string, string> = { effusion: 'pleural effusion', 'pleural effusion': 'effusion' };
const key = (name: string) => name.trim().toLowerCase().replace(/[\s_-]+/g, ' ');

/** The index of a class name among `classes` (case, spacing and synonyms aside), or -1. */
export function findClass(classes: readonly string[], name: string): number {
  const k = key(name);
  let i = classes.findIndex((c) => key(c) === k);
  if (i < 0 && SYNONYMS[k]) i = classes.findIndex((c) => key(c) === SYNONYMS[k]);
  return i;
}

/** Resolve a class set against a table's classes. */
export function resolveClasses(spec: ClassSetSpec | undefined, tableClasses: readonly string[]): ResolvedClasses {
  let wanted: readonly string[];
  let setName = '';
  const named = typeof spec === 'string' ? classSetOf(spec) : undefined;
  if (spec === undefined || (typeof spec === 'string' && spec.trim().toLowerCase() === 'all')) wanted = tableClasses;
  else if (named) {
    setName = named;
    wanted = named === 'N5' ? N5 : named === 'N12' ? N12 : tableClasses.length === 14 ? tableClasses : N14;
  } else if (typeof spec === 'string') wanted = spec.split(',').map((s) => s.trim()).filter(Boolean);
  else wanted = spec;
  if (wanted.length === 0) throw new MedtrainError('no classes selected', { code: 'bad-classes', hint: 'use N5, N12, N14, all, or a comma-separated list of class names' });
  const columns: number[] = [];
  const missing: string[] = [];
  for (const w of wanted) {
    const i = findClass(tableClasses, w);
    if (i < 0) missing.push(w);
    else columns.push(i);
  }
  if (missing.length) {
    throw new MedtrainError(`${setName ? `class set ${setName}: ` : ''}the table has no class ${listForMessage(missing.map((m) => `'${m}'`))}`, {
      code: 'bad-classes',
      value: missing.join(', '),
      hint: `the table's classes: ${tableClasses.join(', ')}`,
    });
  }
  if (new Set(columns).size !== columns.length) throw new MedtrainError('a class is selected twice', { code: 'bad-classes', value: wanted.join(', ') });
  return { names: columns.map((c) => tableClasses[c]!), columns, tableClasses: [...tableClasses] };
}
