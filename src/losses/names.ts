/** The losses a benchmark names, and the one reader of their names (any case). */
import { MedtrainError } from '../util/errors.js';

export const LOSSES = ['BCE', 'WBCE', 'CWBCE', 'Focal'] as const;
export type LossName = (typeof LOSSES)[number];

/** The loss a word names (bce, CWBCE, focal, …), or undefined. */
export function lossOf(word: string): LossName | undefined {
  const w = word.trim().toLowerCase();
  return LOSSES.find((l) => l.toLowerCase() === w);
}

/** The loss a word names, or a MedtrainError listing them. */
export function parseLossName(word: string): LossName {
  const l = lossOf(word);
  if (!l) throw new MedtrainError('unknown loss', { code: 'unknown-loss', value: word, hint: `use ${LOSSES.join(', ')}` });
  return l;
}
