/**
 * The evaluation as a plain-text table for the terminal (the --json output is the report itself).
 */
import type { FileEvaluation } from './evaluate.js';
import type { Interval } from './bootstrap.js';

function num(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits);
}

function withCi(v: number | null, ci: Interval | undefined): string {
  if (!ci) return num(v);
  return `${num(v)} [${num(ci.low, 3)}, ${num(ci.high, 3)}]`;
}

export function formatEvaluation(r: FileEvaluation): string {
  const ci = r.bootstrap;
  const head = ['class', 'n', 'pos', 'AUROC', 'AP', 'AUPRC', 'thresh', 'prec', 'recall', 'spec', 'F1', 'F2', 'acc', 'ECE', 'Brier'];
  const rows: string[][] = [];
  for (const [name, c] of Object.entries(r.classes)) {
    rows.push([
      name,
      String(c.n),
      String(c.positives),
      withCi(c.auroc, ci?.classes[name]?.auroc),
      num(c.ap),
      num(c.auprc),
      num(c.threshold, 3),
      num(c.precision),
      num(c.recall),
      num(c.specificity),
      num(c.f1),
      num(c.f2),
      num(c.accuracy),
      num(c.ece),
      num(c.brier),
    ]);
  }
  const agg = (label: string, a: FileEvaluation['macro'] | FileEvaluation['micro'] | FileEvaluation['weighted'], cis?: Record<string, Interval>) => [
    label,
    '',
    '',
    withCi(a.auroc, cis?.auroc),
    num(a.ap),
    num(a.auprc),
    '',
    num(a.precision),
    num(a.recall),
    num(a.specificity),
    num(a.f1),
    num(a.f2),
    num(a.accuracy),
    'ece' in a ? num(a.ece) : '',
    'brier' in a ? num(a.brier) : '',
  ];
  rows.push(agg(`macro (${r.macro.classes})`, r.macro, ci?.macro));
  rows.push(agg('micro', r.micro, ci?.micro));
  rows.push(agg('weighted', r.weighted));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(0, -3).map(line), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(-3).map(line)];
  out.push('');
  out.push(`${r.rows} cases; thresholds: ${r.thresholdMethod} (${r.thresholdSource})${r.thresholdFallback.length ? `; 0.5 used for ${r.thresholdFallback.join(', ')}` : ''}`);
  if (r.calibration) {
    const undefinedFor = Object.entries(r.calibration.classes).filter(([, c]) => c.undefinedBecause);
    out.push(`ECE: ${r.calibration.bins} equal-width bins; macro ECE and Brier over ${r.calibration.macro.classes} class(es)${undefinedFor.length ? `; undefined for ${undefinedFor.map(([n, c]) => `${n} (${c.undefinedBecause})`).join(', ')}` : ''}`);
  }
  if (r.excluded.length) {
    out.push(`left out of the macro and weighted averages (${r.excludedCount}): ${r.excluded.map((n) => `${n} (${r.classes[n]!.excluded})`).join(', ')}`);
  }
  if (ci) out.push(`intervals: ${Math.round(ci.level * 100)}% percentile bootstrap, ${ci.replicates} replicates, resampling ${ci.resampling === 'group' ? `${ci.units} patients` : `${ci.units} cases`}`);
  if (r.ignoredLabelColumns.length) out.push(`label columns not evaluated: ${r.ignoredLabelColumns.join(', ')}`);
  if (r.delong) {
    out.push('', `paired DeLong test against ${r.delong.compare} (AUROC difference, z, two-sided p):`);
    for (const [name, d] of Object.entries(r.delong.classes)) {
      out.push(`  ${name}: ${num(d.a.auc)} vs ${num(d.b.auc)}  diff ${num(d.difference)}  z ${num(d.z, 3)}  p ${d.p === null ? '—' : d.p.toPrecision(3)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
