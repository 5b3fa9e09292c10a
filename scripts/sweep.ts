/**
 * `medtrain sweep SPEC --data DIR --out S [--parallel N] [--runner local] [--engine E] [--json]`: a
 * hyperparameter search over benchmark fields (grid, random or TPE; median or ASHA pruning on a
 * per-epoch validation metric), each trial a training run in S/trial-NNN/; S/trials.csv and
 * S/sweep.json (the best trial, its parameters, the objective). Run again, it keeps finished trials
 * and resumes interrupted ones.
 */
import { cli, MedtrainError, runSweep, type TrainingSweepResult } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = cli.RUNS_FLAGS;

const EXAMPLE = `A sweep spec (JSON, or YAML named .yaml/.yml):
  {"base": "DenseNetMini_chexpert_BCE_E4_B16_N5_D64", "sampler": "tpe", "metric": "val_macro_auroc", "trials": 12, "seed": 1,
   "space": {"learningRate": {"loguniform": [1e-4, 1e-2]}, "batchSize": {"choice": [8, 16, 32]},
             "augmentation": {"choice": ["none", "affine", "affine,color"]}},
   "pruner": {"asha": {"minResource": 1, "reductionFactor": 3}}, "train": {"no-tensorboard": true}}
Distributions: {"choice": [...]}, {"uniform": [lo, hi]}, {"loguniform": [lo, hi]}, {"int": [lo, hi]}, {"intlog": [lo, hi]};
the space's keys are benchmark fields (medtrain train --help lists them as flags). sampler: grid, random or tpe (default);
pruner: none (default), median or asha; metric: a validation value of every epoch (default val_macro_auroc).
`;

function human(r: TrainingSweepResult): string {
  const counts = ['complete', 'pruned', 'failed', 'running'].map((s) => [s, r.trials.filter((t) => t.state === s).length] as const).filter(([, n]) => n);
  const b = r.best;
  return [
    `sweep folder: ${r.dir}`,
    `trials: ${counts.map(([s, n]) => `${n} ${s}`).join(', ')}; ${r.epochs.trained} epochs trained, ${r.epochs.savedByPruning} saved by pruning`,
    b ? `best: trial ${b.number}, ${r.metric} ${b.value!.toFixed(4)}, ${JSON.stringify(b.params)} (${b.run})` : 'best: none (no trial completed)',
    `trials: ${r.dir}/trials.csv`,
    '',
  ].join('\n');
}

runMain(async () => {
  const { flags, positionals } = parseCli('sweep', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(`${usage('sweep', COMMANDS.sweep, FLAGS, 'SPEC')}\n${EXAMPLE}`);
    return 0;
  }
  const [spec, ...extra] = positionals;
  if (!spec || extra.length) throw new MedtrainError(spec ? `sweep takes one spec file, not ${positionals.length}` : 'sweep needs a spec file', { code: 'bad-flag', value: extra[0], hint: 'medtrain sweep sweep.json --out runs/sweep' });
  if (!flags.out) throw new MedtrainError('sweep needs --out DIR, the sweep folder', { code: 'bad-flag', column: '--out', hint: `medtrain sweep ${spec} --out runs/sweep` });
  const interrupt = new AbortController();
  process.on('SIGINT', () => interrupt.abort());
  const r = await runSweep(spec, { out: flags.out, data: flags.data, engine: flags.engine, runner: flags.runner, parallel: numberFlag('parallel', flags.parallel, { integer: true, min: 1 }), signal: interrupt.signal });
  process.stdout.write(flags.json ? `${JSON.stringify(r)}\n` : human(r));
  return interrupt.signal.aborted ? 130 : 0;
});
