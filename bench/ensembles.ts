/**
 * `npm run bench -- ensembles [--benchmark NAME] [--repeats 3] [--out DIR]`: the main command's config
 * (chexpert_CWBCE_E3_B32 on the phantom set) trained as its run and reseeded repeats (`_2`, `_3`: other
 * initial weights and data order, the same split), then combined by `medtrain ensemble` with each
 * method. Prints one JSON object: every member's and every ensemble's val and test macro AUROC, and
 * each method's gain over the best member (by val). Through the `medtrain` commands as a user runs them.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCli, runMain } from '../src/util/cli.js';
import { medtrainJson } from './_shared.js';

const FLAGS = {
  benchmark: { type: 'string', value: 'NAME', help: 'the members\' benchmark (default chexpert_CWBCE_E3_B32)' },
  repeats: { type: 'string', value: 'N', help: 'members: the run and N − 1 reseeded repeats (default 3)' },
  out: { type: 'string', value: 'DIR', help: 'keep the runs and ensembles here (default: a temporary folder, removed)' },
} as const;


runMain(async () => {
  const { flags } = parseCli('bench -- ensembles', FLAGS, process.argv.slice(2));
  const base = flags.benchmark ?? 'chexpert_CWBCE_E3_B32';
  const repeats = Number(flags.repeats ?? 3);
  const out = flags.out ?? mkdtempSync(join(tmpdir(), 'medtrain-bench-ensembles-'));
  const load = loadavg()[0]!;
  try {
    const runs: string[] = [];
    const members = [];
    for (let k = 1; k <= repeats; k++) {
      const dir = join(out, `run-${k}`);
      // A member finished earlier in --out is used as it is.
      const done = existsSync(join(dir, 'summary.json')) ? { seconds: null, json: { name: JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).name, ...JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) } } : null;
      const t = done ?? medtrainJson(['train', '--', '--benchmark', k === 1 ? base : `${base}_${k}`, '--out', dir, '--no-tensorboard']);
      runs.push(dir);
      members.push({ name: t.json.name, val: t.json.val.macro_auroc, test: t.json.test?.macro_auroc ?? null, seconds: t.seconds });
    }
    const best = members.reduce((a, b) => (b.val > a.val ? b : a));
    const ensembles = Object.fromEntries(
      ['mean', 'weighted', 'stacking'].map((method) => {
        const e = medtrainJson(['ensemble', '--', '--runs', ...runs, '--method', method, '--out', join(out, `ensemble-${method}`)]);
        const val = e.json.val.macro_auroc as number;
        const test = (e.json.test?.macro_auroc ?? null) as number | null;
        return [method, { val, test, gainOverBestMember: { val: val - best.val, test: test !== null && best.test !== null ? test - best.test : null }, seconds: e.seconds }];
      }),
    );
    process.stdout.write(`${JSON.stringify({ harness: 'ensembles', benchmark: base, members, bestMember: best.name, ensembles, machine: { cpu: cpus()[0]?.model, cores: cpus().length, load_average_1m: load } })}\n`);
  } finally {
    if (!flags.out) rmSync(out, { recursive: true, force: true });
  }
});
