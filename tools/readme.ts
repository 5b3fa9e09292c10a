/**
 * The README's generated blocks, and the command that writes them (`npx tsx tools/readme.ts`):
 *   <!-- benchmark-grammar -->   the benchmark-name grammar, from the one token table (src/training/benchmark/tokens.ts)
 *   <!-- headline-figures -->    the headline figures, from the latest harness outputs in bench/results/*.json
 *   <!-- medtrain-commands -->   the commands of `medtrain`, from scripts/commands.ts (what `medtrain --help` lists)
 * test/readme.test.ts fails while the README's copies differ from what these functions write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMMANDS } from '../scripts/commands.js';
import { grammarTable } from '../src/training/benchmark/name.js';

export const ROOT = join(import.meta.dirname, '..');

const read = (name: string) => JSON.parse(readFileSync(join(ROOT, 'bench', 'results', `${name}.json`), 'utf8')) as any;
const f = (x: number, digits = 2) => x.toFixed(digits);
const machine = (m: { cpu?: string; cores?: number; load_average_1m?: number; loadavg?: number[] }) => `${m.cpu ?? 'CPU'}, ${m.cores} cores, load ${f(m.load_average_1m ?? m.loadavg?.[0] ?? NaN, 1)}`;

/** The headline figures, one row a harness, each linking to its section of bench/README.md. */
export function figuresTable(): string {
  const main = read('main');
  const ntf = read('native-tf');
  const metrics = read('metrics');
  const keras = ntf.peers.keras;
  const rows = [
    [
      '[The main command](bench/README.md#the-main-command): `npm run train -- --benchmark chexpert_CWBCE_E3_B32` (the quick start on the phantom set)',
      `val macro AUROC ${f(main.summary.val.macro_auroc, 3)}, test ${f(main.summary.test.macro_auroc, 3)}; ${Math.round(main.seconds)} s in all on ${main.summary.engine}`,
      '',
      machine(main.machine),
    ],
    [
      '[DenseNet121 training](bench/README.md#native-tensorflow-engine), native engine, one thread, 128 px, batch 8',
      `${f(ntf.medtrain.tensorflow.imgPerCpuSecond)} img per CPU-second`,
      `Keras ${keras.version} on TensorFlow ${keras.tensorflow}: ${f(keras.imgPerCpuSecond)} (medtrain ${f(ntf.cpuRatios['tensorflow/keras'])}×)`,
      machine(ntf.machine),
    ],
    [
      `[Metrics](bench/README.md#metrics): AUROC + AP + AUPRC, ${metrics.work.replace(/^.*?(\d+ classes x \d+ rows).*$/, '$1').replace(' x ', ' × ')}`,
      `${f(metrics.medtrain.ms_median, 0)} ms (${metrics.medtrain.threads} threads)`,
      `scikit-learn ${metrics.sklearn.version}: ${f(metrics.sklearn.ms_median, 0)} ms (medtrain ${f(metrics.ratio_sklearn_over_medtrain, 0)}× faster)`,
      machine(metrics.machine),
    ],
  ];
  return ['| | medtrain | beside | machine |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The commands, as `medtrain --help` lists them. */
export function commandsTable(): string {
  return ['| command | what it does |', '|---|---|', ...Object.entries(COMMANDS).map(([name, what]) => `| \`medtrain ${name}\` | ${what} |`)].join('\n');
}

export const BLOCKS: Record<string, () => string> = { 'benchmark-grammar': grammarTable, 'headline-figures': figuresTable, 'medtrain-commands': commandsTable };

/** The README's text between `<!-- name -->` and `<!-- /name -->`, or null. */
export function readmeBlock(text: string, name: string): string | null {
  return new RegExp(`<!-- ${name} -->\\n([\\s\\S]*?)\\n<!-- /${name} -->`).exec(text)?.[1] ?? null;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const file = join(ROOT, 'README.md');
  let text = readFileSync(file, 'utf8');
  for (const [name, make] of Object.entries(BLOCKS)) {
    if (readmeBlock(text, name) === null) throw new Error(`README.md has no <!-- ${name} --> block`);
    text = text.replace(new RegExp(`(<!-- ${name} -->\\n)[\\s\\S]*?(\\n<!-- /${name} -->)`), (_m, open: string, close: string) => `${open}${make()}${close}`);
  }
  writeFileSync(file, text);
  process.stdout.write(`README.md: ${Object.keys(BLOCKS).join(', ')} written\n`);
}
