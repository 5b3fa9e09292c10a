/**
 * The nouns every part of medtrain shares (data, models, losses, metrics, training): the shapes data
 * takes on its way from a label table to a batch, and what a label means.
 *
 * Label convention everywhere after encoding: 1 positive, 0 negative, values in between for
 * smoothed labels, and MASKED (-1) for "not labelled": losses and metrics skip masked entries.
 */

export const MASKED = -1;

/** An encoded label counts as positive when it is labelled and at least 0.5 (smoothed labels included). */
export function isPositive(y: number): boolean {
  return y !== MASKED && y >= 0.5;
}

/** One image with its labels, as read from a label table. */
export interface CaseRecord {
  /** Unique id of the case: the image path as written in the table (relative to the data root). */
  id: string;
  /** Absolute path of the image file. */
  path: string;
  patientId: string;
  studyId?: string;
  /** 'frontal' or 'lateral' when the table says. */
  view?: 'frontal' | 'lateral';
  /** AP, PA, LL, … when the table says. */
  projection?: string;
  sex?: string;
  age?: number;
  /**
   * Raw label cells, one per class of the table, before any encoding:
   * 1 positive, 0 negative, -1 uncertain, NaN blank (not mentioned).
   */
  raw: Float32Array;
  /** Where the row came from, for error messages and the skipped-rows report. */
  source: { file: string; line: number };
}

/** A row or file left out, with why. Named in summaries and in the run log; never silently dropped. */
export interface SkippedItem {
  file: string;
  line?: number;
  column?: string;
  value?: string;
  reason: string;
  /** For an image: the table row that named it. */
  source?: { file: string; line: number };
}

/** What to do with bad input: leave it out, counted and named (`skip`), or stop with an error (`fail`). */
export type BadInputPolicy = 'skip' | 'fail';

export interface LabelTable {
  /** Class names in column order (the table's label columns). */
  classes: string[];
  records: CaseRecord[];
  skipped: SkippedItem[];
  /** The table file(s) read. */
  files: string[];
  /** Rows left out on purpose by a filter (views, official split list); not errors. */
  filtered?: number;
}

/** Per-class counts. uncertain and blank count raw cells; positive, negative and masked count after encoding. */
export interface ClassStats {
  positive: number;
  negative: number;
  uncertain: number;
  blank: number;
  masked: number;
}

/** One batch, as typed arrays (the generator turns them into tensors for the engine). */
export interface Batch {
  /** [B, D, D, 3] float32, row-major (NHWC), already in the model's input preprocessing. */
  x: Float32Array;
  /** [B, C] float32 encoded labels, MASKED (-1) where not labelled. */
  y: Float32Array;
  /** Case ids in batch order. */
  ids: string[];
  size: number;
  dim: number;
  numClasses: number;
  /** The epoch and the batch's index in it, when a generator made it. */
  epoch?: number;
  index?: number;
}
