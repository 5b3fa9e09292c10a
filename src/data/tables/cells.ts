/**
 * What every label-table reader shares beyond the CSV reader (src/util/csv.ts): the options, label
 * cells, numbers, and paths that must stay inside the data root.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { BadInputPolicy } from '../../core/types.js';

/** Options every table reader takes. */
export interface TableOptions {
  /** Bad rows: 'fail' (default) stops with an error naming file, line, column and value; 'skip' leaves them out, named in `skipped`. */
  policy?: BadInputPolicy;
}

/**
 * A label cell: '1'/'1.0' positive, '0'/'0.0' negative, '-1'/'-1.0' uncertain (other decimal
 * spellings of those three and surrounding spaces too), blank = NaN (not mentioned). Anything else
 * is undefined (a bad cell).
 */
export function parseLabelCell(text: string): number | undefined {
  switch (text) {
    case '':
      return NaN;
    case '1.0':
    case '1':
      return 1;
    case '0.0':
    case '0':
      return 0;
    case '-1.0':
    case '-1':
      return -1;
  }
  const t = text.trim();
  if (t === '') return NaN;
  if (!/^[+-]?\d+(?:\.\d*)?$/.test(t)) return undefined;
  const v = Number(t);
  return v === 0 ? 0 : v === 1 || v === -1 ? v : undefined;
}

/** The absolute path of `rel` under `root` (an absolute, normalised folder), or null when it escapes the root. */
export function resolveInside(root: string, rel: string): string | null {
  // Fast path for the common plain relative path (no '.', '..', empty segments or leading slash).
  if (sep === '/' && rel !== '' && rel.charCodeAt(0) !== 46 && rel.charCodeAt(0) !== 47 && !rel.endsWith('/') && rel.indexOf('/.') < 0 && rel.indexOf('//') < 0 && rel.indexOf('\\') < 0 && rel.indexOf('\0') < 0) {
    return root.endsWith('/') ? root + rel : `${root}/${rel}`;
  }
  const abs = resolve(root, rel);
  const r = relative(root, abs);
  if (r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) return null;
  return abs;
}

/** Number or undefined for a blank cell; NaN for a cell that is not a number. */
export function parseOptionalNumber(text: string): number | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v : NaN;
}
