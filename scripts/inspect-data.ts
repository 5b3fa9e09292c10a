/**
 * `medtrain inspect-data --data DIR [--benchmark NAME] [--classes N5] [--uncertainty U32] [--blank-policy zero] [--split 0.95/0.05] [--seed S] [--json]`:
 * what a dataset holds before anyone trains on it. Flags override what the benchmark name says, and
 * read as train's flags of the same names do.
 */
import { cli, Benchmark, BENCHMARK_FLAGS, MedtrainError, formatDataReport, inspectData, parseBlankPolicy } from 'medtrain';
import { COMMANDS } from './commands.js';

const { parseCli, runMain, usage } = cli;

const FLAGS = {
  data: { type: 'string', value: 'DIR', help: 'dataset folder (CheXpert-like, ChestX-ray14, or any folder with --table)' },
  benchmark: { type: 'string', value: 'NAME', help: "take classes, uncertainty, blank policy, split and seed from a benchmark name (e.g. chexpert_CWBCE_E3_B32_N5_U32_DS9505)" },
  classes: { ...BENCHMARK_FLAGS.classes!, help: `${BENCHMARK_FLAGS.classes!.help}, or all (default: all, or the benchmark's)` },
  uncertainty: { ...BENCHMARK_FLAGS.uncertainty!, help: `${BENCHMARK_FLAGS.uncertainty!.help} (default: ignore)` },
  'blank-policy': { ...BENCHMARK_FLAGS['blank-policy']!, help: `${BENCHMARK_FLAGS['blank-policy']!.help} (default: zero)` },
  'no-finding-negative': { type: 'boolean', help: 'No Finding = 1 makes blank findings 0' },
  split: { ...BENCHMARK_FLAGS.split!, help: `${BENCHMARK_FLAGS.split!.help} (default: 0.8/0.2)` },
  seed: { ...BENCHMARK_FLAGS.seed!, help: `${BENCHMARK_FLAGS.seed!.help} (default: 6122156)` },
  views: { type: 'string', value: 'V', help: 'keep only these views: frontal, lateral, ap, pa (comma-separated)' },
  check: { type: 'string', value: 'C', help: 'image check: exists, decode (every image) or none', default: 'exists' },
  'on-bad-row': { type: 'string', value: 'P', help: 'a bad label-table row: skip (list it and go on) or fail (stop at it)', default: 'skip' },
  table: { type: 'string', value: 'CSV', help: 'a generic label table (relative to --data)' },
  'path-column': { type: 'string', value: 'COL', help: 'generic table: the image path column', default: 'Path' },
  'label-columns': { type: 'string', value: 'A,B', help: 'generic table: the label columns (default: all other columns)' },
  'patient-column': { type: 'string', value: 'COL', help: 'generic table: the patient column' },
} as const;

function badRowPolicy(v: string | undefined): 'skip' | 'fail' {
  if (v === undefined || v === 'skip' || v === 'fail') return v ?? 'skip';
  throw new MedtrainError('unknown bad-row policy', { code: 'bad-flag', column: '--on-bad-row', value: v, hint: 'use skip or fail' });
}

runMain(async () => {
  const { flags } = parseCli('inspect-data', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('inspect-data', COMMANDS['inspect-data'], FLAGS));
    return 0;
  }
  if (!flags.data) throw new MedtrainError('--data is required', { code: 'bad-flag', column: '--data', hint: 'medtrain inspect-data --data path/to/dataset' });
  const check = flags.check ?? 'exists';
  if (check !== 'exists' && check !== 'decode' && check !== 'none') throw new MedtrainError('unknown image check', { code: 'bad-flag', column: '--check', value: check, hint: 'use exists, decode or none' });
  // The split and the seed read as train reads them (the benchmark's field grammar).
  const fields = Benchmark.create({ ...(flags.split !== undefined && { split: flags.split }), ...(flags.seed !== undefined && { seed: flags.seed }) });
  const report = await inspectData(flags.data, {
    ...(flags.benchmark && Benchmark.parse(flags.benchmark).dataOptions()),
    ...(flags.classes !== undefined && { classes: flags.classes }),
    ...(flags.uncertainty !== undefined && { uncertainty: flags.uncertainty }),
    ...(flags['blank-policy'] !== undefined && { blank: parseBlankPolicy(flags['blank-policy']) }),
    noFindingImpliesNegative: !!flags['no-finding-negative'],
    ...(flags.split !== undefined && { val: fields.split.val }),
    ...(flags.seed !== undefined && { seed: fields.seed }),
    ...(flags.views && { views: flags.views }),
    checkImages: check,
    onBadRow: badRowPolicy(flags['on-bad-row']),
    ...(flags.table && {
      table: {
        file: flags.table,
        pathColumn: flags['path-column'],
        ...(flags['label-columns'] && { labelColumns: flags['label-columns'].split(',').map((s) => s.trim()) }),
        ...(flags['patient-column'] && { patientColumn: flags['patient-column'] }),
      },
    }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatDataReport(report));
  return 0;
});
