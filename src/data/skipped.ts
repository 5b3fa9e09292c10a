/**
 * Summaries of skipped rows and files, for the run log and the terminal: nothing bad is dropped
 * silently, and a long list stays readable.
 */
import type { SkippedItem } from '../core/types.js';

export interface SkippedSummary {
  total: number;
  /** Count per reason, most frequent first. */
  byReason: Record<string, number>;
  items: SkippedItem[];
}

/** One summary of any number of skipped lists (a table's, a generator's, an image check's). */
export function summarizeSkipped(...lists: readonly (readonly SkippedItem[])[]): SkippedSummary {
  const items = lists.flat();
  const counts = new Map<string, number>();
  for (const s of items) counts.set(s.reason, (counts.get(s.reason) ?? 0) + 1);
  return { total: items.length, byReason: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])), items };
}

/** One line per item (the first `max`), each naming where it came from and why. */
export function formatSkipped(items: readonly SkippedItem[], max = 20): string[] {
  const lines = items.slice(0, max).map((s) => {
    const where = s.source ? `${s.source.file}:${s.source.line}` : `${s.file}${s.line !== undefined ? `:${s.line}` : ''}`;
    const column = s.column ? ` [${s.column}]` : '';
    const value = s.value !== undefined && !s.source ? ` ${JSON.stringify(s.value)}` : '';
    return `${where}${column}${value}: ${s.reason}${s.source ? ` (${s.file})` : ''}`;
  });
  if (items.length > max) lines.push(`… and ${items.length - max} more`);
  return lines;
}
