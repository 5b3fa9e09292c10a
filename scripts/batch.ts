/**
 * `medtrain batch FILE --data DIR --out B [--parallel N] [--engine E] [--json]`: run every benchmark
 * a batch file names (a list of names, or a product of field values over a base name; JSON or
 * YAML) into B/<name>/, N at once. Run again, it skips the finished runs and resumes stopped ones.
 * B/results.csv and B/results.json: one row per benchmark. Exit code 1 when a run failed.
 */
import { cli, MedtrainError, runBatch, type BatchResult } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = cli.RUNS_FLAGS;

const EXAMPLE = `A batch file (JSON, or YAML named .yaml/.yml):
  {"benchmarks": ["DenseNetMini_chexpert_BCE_E2_B16_N5_D64", "DenseNetMini_chexpert_CWBCE_E2_B16_N5_D64"]}
  {"base": "DenseNetMini_chexpert_BCE_E2_B16_N5_D64", "product": {"learningRate": [1e-3, 1e-4], "loss": ["BCE", "Focal"]},
   "train": {"no-tensorboard": true}}
`;

function human(r: BatchResult): string {
  const f = (v: number | null) => (v === null ? '—' : v.toFixed(4));
  const width = Math.max(4, ...r.rows.map((x) => x.name.length));
  return [
    `${'name'.padEnd(width)}  status     val AUROC  test AUROC`,
    ...r.rows.map((x) => `${x.name.padEnd(width)}  ${x.status.padEnd(9)}  ${f(x.valMacroAuroc).padStart(9)}  ${f(x.testMacroAuroc).padStart(10)}${x.error ? `  ${x.error}` : ''}`),
    '',
    `results: ${r.dir}/results.csv`,
    '',
  ].join('\n');
}

runMain(async () => {
  const { flags, positionals } = parseCli('batch', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(`${usage('batch', COMMANDS.batch, FLAGS, 'FILE')}\n${EXAMPLE}`);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (!file || extra.length) throw new MedtrainError(file ? `batch takes one file, not ${positionals.length}` : 'batch needs a batch file', { code: 'bad-flag', value: extra[0], hint: 'medtrain batch batch.json --out runs/batch' });
  if (!flags.out) throw new MedtrainError('batch needs --out DIR, the batch folder', { code: 'bad-flag', column: '--out', hint: `medtrain batch ${file} --out runs/batch` });
  const interrupt = new AbortController();
  process.on('SIGINT', () => interrupt.abort());
  const r = await runBatch(file, { out: flags.out, data: flags.data, engine: flags.engine, runner: flags.runner, parallel: numberFlag('parallel', flags.parallel, { integer: true, min: 1 }), signal: interrupt.signal });
  process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : human(r));
  return r.rows.some((x) => x.status === 'failed') ? 1 : interrupt.signal.aborted ? 130 : 0;
});
