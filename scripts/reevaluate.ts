/**
 * `npm run reevaluate -- --run DIR [--json]`: every saved epoch of a run on val and test (loss, macro
 * AUROC and AP, per-class AUROC) → reevaluation.csv and reevaluation.json in the run folder, and the
 * best epoch by val macro AUROC.
 */
import { cli, MedtrainError, reevaluateRun, type Reevaluation } from 'medtrain';

type EpochRow = Reevaluation['epochs'][number];

const { parseCli, runMain, usage } = cli;

const FLAGS = {
  run: { type: 'string', value: 'DIR', help: 'the training run folder' },
} as const;

const fmt = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(4) : '—');

runMain(async () => {
  const { flags } = parseCli('reevaluate', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('reevaluate', 'Evaluate every saved epoch of a run on val and test: an epoch table (CSV + JSON) and the best epoch by val macro AUROC.', FLAGS));
    return 0;
  }
  if (!flags.run) throw new MedtrainError('reevaluate needs --run DIR', { code: 'bad-flag', column: '--run', hint: 'npm run reevaluate -- --run models/<run>' });
  const r = await reevaluateRun(flags.run, { engine: flags.engine });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const cols: [string, string][] = [['epoch', 'epoch'], ['val loss', 'val_loss'], ['val AUROC', 'val_macro_auroc']];
  if (r.epochs.some((e) => e.test_macro_auroc !== undefined)) cols.push(['test loss', 'test_loss'], ['test AUROC', 'test_macro_auroc']);
  const cell = (e: EpochRow, key: string) => (key === 'epoch' ? String(e.epoch) : fmt(e[key]));
  const rows = r.epochs.map((e) => cols.map(([h, k]) => cell(e, k).padStart(h.length)).join('  '));
  process.stdout.write(
    [cols.map(([h]) => h).join('  '), ...rows, '', `best epoch by val macro AUROC: ${r.best_epoch ?? '—'} (${fmt(r.best_val_macro_auroc)})`, `wrote ${r.files.csv} and ${r.files.json}`, ''].join('\n'),
  );
  return 0;
});
