/**
 * `medtrain ensemble --runs DIR DIR... --method mean|weighted|stacking [--out DIR] [--folds K] [--seed S]
 * [--C C] [--json]`: combine finished runs (or ensembles) that share classes and splits into an
 * ensemble folder in the run-folder format; `medtrain evaluate --run` and `medtrain predict --run`
 * take it as a run.
 */
import { cli, ensembleRuns, MedtrainError, type EnsembleMethod, type EnsembleResult } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  runs: { type: 'string', value: 'DIR...', help: 'the member run folders (two or more; the folders follow --runs)' },
  method: { type: 'string', value: 'M', help: 'mean (default), weighted (per class, by validation AUROC above chance) or stacking (per-class logistic regression over the logits, cross-fitted on val)' },
  out: { type: 'string', value: 'DIR', help: 'the ensemble folder (default: ensemble-<method> beside the first member)' },
  folds: { type: 'string', value: 'K', help: 'cross-fitting folds on val for weighted and stacking (default 5)' },
  seed: { type: 'string', value: 'S', help: 'seed of the cross-fitting folds (default 0)' },
  C: { type: 'string', value: 'C', help: "stacking's inverse regularisation strength, as scikit-learn's (default 1)" },
} as const;

function human(r: EnsembleResult): string {
  const f = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(4));
  const width = Math.max(8, ...r.members.map((m) => m.name.length));
  return [
    `${'member'.padEnd(width)}  val AUROC  test AUROC`,
    ...r.members.map((m) => `${m.name.padEnd(width)}  ${f(m.val_macro_auroc).padStart(9)}  ${f(m.test_macro_auroc).padStart(10)}`),
    `${r.config.method.padEnd(width)}  ${f(r.val.macro_auroc).padStart(9)}  ${f(r.test?.macro_auroc).padStart(10)}`,
    '',
    `the ensemble is in ${r.dir} (val predictions ${r.config.val})`,
    '',
  ].join('\n');
}

runMain(async () => {
  const { flags, positionals } = parseCli('ensemble', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(usage('ensemble', COMMANDS.ensemble, FLAGS));
    return 0;
  }
  const runs = [...(flags.runs !== undefined ? [flags.runs] : []), ...positionals];
  if (flags.runs === undefined) throw new MedtrainError('ensemble needs --runs and two or more run folders', { code: 'bad-flag', column: '--runs', hint: 'medtrain ensemble --runs models/a models/b --method mean' });
  const r = await ensembleRuns({
    runs,
    method: (flags.method ?? 'mean') as EnsembleMethod,
    out: flags.out,
    folds: numberFlag('folds', flags.folds, { integer: true, min: 2 }),
    seed: flags.seed,
    C: numberFlag('C', flags.C, { min: 0 }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : human(r));
  return 0;
});
