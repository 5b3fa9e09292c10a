/**
 * `medtrain inspect-data --data DIR [--benchmark NAME] [--classes N5] [--uncertainty U32] [--blank zero] [--val 0.05] [--seed S] [--json]`:
 * what a dataset holds before anyone trains on it. Flags override what the benchmark name says.
 */
import { cli, Benchmark, BENCHMARK_FLAGS, DATA_DEFAULTS, MedtrainError, formatDataReport, inspectData, parseBlankPolicy } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  data: { type: 'string', value: 'DIR', help: 'dataset folder (CheXpert-like, ChestX-ray14, or any folder with --table)' },
  benchmark: { type: 'string', value: 'NAME', help: "take classes, uncertainty, blank policy, split and seed from a benchmark name (e.g. chexpert_CWBCE_E3_B32_N5_U32_DS9505)" },
  classes: { type: 'string', value: 'SET', help: 'N5, N12, N14, all, or a comma-separated list of class names (default: all, or the benchmark\'s)' },
  uncertainty: { ...BENCHMARK_FLAGS.uncertainty!, help: `${BENCHMARK_FLAGS.uncertainty!.help} (default: ignore)` },
  'blank-policy': { ...BENCHMARK_FLAGS['blank-policy']!, help: `${BENCHMARK_FLAGS['blank-policy']!.help} (default: zero)` },
  blank: { type: 'string', value: 'P', help: 'the same as --blank-policy' },
  'no-finding-negative': { type: 'boolean', help: 'No Finding = 1 makes blank findings 0' },
  val: { type: 'string', value: 'F', help: `validation fraction of the training table, split by patient (default: ${DATA_DEFAULTS.val})` },
  seed: { type: 'string', value: 'S', help: `split seed (default: ${DATA_DEFAULTS.seed})` },
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
  const blank = flags['blank-policy'] ?? flags.blank;
  const report = await inspectData(flags.data, {
    ...(flags.benchmark && Benchmark.parse(flags.benchmark).dataOptions()),
    ...(flags.classes !== undefined && { classes: flags.classes }),
    ...(flags.uncertainty !== undefined && { uncertainty: flags.uncertainty }),
    ...(blank !== undefined && { blank: parseBlankPolicy(blank) }),
    noFindingImpliesNegative: !!flags['no-finding-negative'],
    ...(flags.val !== undefined && { val: numberFlag('val', flags.val, { min: 0, max: 0.99 }) }),
    ...(flags.seed !== undefined && { seed: flags.seed }),
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
