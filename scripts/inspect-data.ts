/**
 * `npm run inspect-data -- --data DIR [--benchmark NAME] [--classes N5] [--uncertainty U32] [--blank zero] [--val 0.05] [--seed S] [--json]`:
 * what a dataset holds before anyone trains on it. Flags override what the benchmark name says.
 */
import { inspectData, formatDataReport, DEFAULT_SEED, DEFAULT_VAL } from '../src/data/inspect.js';
import { parseBlankPolicy } from '../src/data/labels.js';
import { Benchmark } from '../src/training/benchmark.js';
import { MedtrainError } from '../src/util/errors.js';
import { numberFlag, parseCli, runMain, usage } from '../src/util/cli.js';

const FLAGS = {
  data: { type: 'string', value: 'DIR', help: 'dataset folder (CheXpert-like, ChestX-ray14, or any folder with --table)' },
  benchmark: { type: 'string', value: 'NAME', help: "take classes, uncertainty, blank policy, split and seed from a benchmark name (e.g. chexpert_CWBCE_E3_B32_N5_U32_DS9505)" },
  classes: { type: 'string', value: 'SET', help: 'N5, N12, N14, all, or a comma-separated list of class names (default: all, or the benchmark\'s)' },
  uncertainty: { type: 'string', value: 'U', help: 'ignore, zeros, ones, lsr-ones, lsr-zeros, U<z><o> (e.g. U32), or "zeros=A,B;ones=C" (default: ignore)' },
  blank: { type: 'string', value: 'P', help: 'blank cells: zero or mask (default: zero)' },
  'no-finding-negative': { type: 'boolean', help: 'No Finding = 1 makes blank findings 0' },
  val: { type: 'string', value: 'F', help: `validation fraction of the training table, split by patient (default: ${DEFAULT_VAL})` },
  seed: { type: 'string', value: 'S', help: `split seed (default: ${DEFAULT_SEED})` },
  views: { type: 'string', value: 'V', help: 'keep only these views: frontal, lateral, ap, pa (comma-separated)' },
  check: { type: 'string', value: 'C', help: 'image check: exists, decode (every image) or none', default: 'exists' },
  table: { type: 'string', value: 'CSV', help: 'a generic label table (relative to --data)' },
  'path-column': { type: 'string', value: 'COL', help: 'generic table: the image path column', default: 'Path' },
  'label-columns': { type: 'string', value: 'A,B', help: 'generic table: the label columns (default: all other columns)' },
  'patient-column': { type: 'string', value: 'COL', help: 'generic table: the patient column' },
} as const;

runMain(async () => {
  const { flags } = parseCli('inspect-data', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('inspect-data', 'What a dataset holds: rows, patients, studies, views, split sizes, per-class counts after encoding, and every skipped row or file.', FLAGS));
    return 0;
  }
  if (!flags.data) throw new MedtrainError('--data is required', { code: 'bad-flag', column: '--data', hint: 'npm run inspect-data -- --data path/to/dataset' });
  const check = flags.check ?? 'exists';
  if (check !== 'exists' && check !== 'decode' && check !== 'none') throw new MedtrainError('unknown image check', { code: 'bad-flag', column: '--check', value: check, hint: 'use exists, decode or none' });
  const report = await inspectData(flags.data, {
    ...(flags.benchmark && { benchmark: Benchmark.parse(flags.benchmark) }),
    classes: flags.classes,
    uncertainty: flags.uncertainty,
    blank: flags.blank === undefined ? undefined : parseBlankPolicy(flags.blank),
    noFindingImpliesNegative: !!flags['no-finding-negative'],
    val: numberFlag('val', flags.val, { min: 0, max: 0.99 }),
    seed: flags.seed,
    ...(flags.views && { views: flags.views }),
    checkImages: check,
    ...(flags.table && {
      table: flags.table,
      generic: {
        pathColumn: flags['path-column'],
        ...(flags['label-columns'] && { labelColumns: flags['label-columns'].split(',').map((s) => s.trim()) }),
        ...(flags['patient-column'] && { patientColumn: flags['patient-column'] }),
      },
    }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatDataReport(report));
  return 0;
});
