/**
 * `medtrain reevaluate --run DIR [--json]`: every saved epoch of a run on val and test (loss, macro
 * AUROC and AP, per-class AUROC, and the run's monitor) → reevaluation.csv and reevaluation.json in
 * the run folder, and the best epoch by the run's monitor (val_loss unless the run chose another).
 */
import { cli, MedtrainError, reevaluateRun, type Reevaluation } from 'medtrain';
import { COMMANDS } from './commands.js';

type EpochRow = Reevaluation['epochs'][number];

const { parseCli, runMain, usage } = cli;

const FLAGS = {
  ...cli.ENGINE_FLAG,
  run: { type: 'string', value: 'DIR', help: 'the training run folder' },
} as const;

const fmt = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(4) : '—');

/** The best-epoch line: the epoch by the run's monitor with its value and the val macro AUROC, or why there is none. */
function best(r: Reevaluation): string {
  if (r.note) return `best epoch by ${r.monitor}: — (${r.note})`;
  if (r.bestEpoch === null) return `best epoch by ${r.monitor}: — (no epoch has a value for it)`;
  return `best epoch by ${r.monitor} (${r.mode === 'min' ? 'lowest' : 'highest'}): ${r.bestEpoch} (${r.monitor} ${fmt(r.bestValue)}, val macro AUROC ${fmt(r.bestValMacroAuroc)})`;
}

runMain(async () => {
  const { flags } = parseCli('reevaluate', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('reevaluate', COMMANDS.reevaluate, FLAGS));
    return 0;
  }
  if (!flags.run) throw new MedtrainError('reevaluate needs --run DIR', { code: 'bad-flag', column: '--run', hint: 'medtrain reevaluate --run models/<run>' });
  const r = await reevaluateRun(flags.run, { engine: flags.engine });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const cols: [string, string][] = [['epoch', 'epoch'], ['val loss', 'val_loss'], ['val AUROC', 'val_macro_auroc']];
  // The monitor's own column when it is another quantity (val_macro_f1, val_auroc/<class>, …).
  if (!cols.some(([, k]) => k === r.monitor) && r.epochs.some((e) => r.monitor in e)) cols.push([r.monitor, r.monitor]);
  if (r.epochs.some((e) => e.test_macro_auroc !== undefined)) cols.push(['test loss', 'test_loss'], ['test AUROC', 'test_macro_auroc']);
  const cell = (e: EpochRow, key: string) => (key === 'epoch' ? String(e.epoch) : fmt(e[key]));
  const rows = r.epochs.map((e) => cols.map(([h, k]) => cell(e, k).padStart(h.length)).join('  '));
  process.stdout.write(
    [cols.map(([h]) => h).join('  '), ...rows, '', best(r), `wrote ${r.files.csv} and ${r.files.json}`, ''].join('\n'),
  );
  return 0;
});
