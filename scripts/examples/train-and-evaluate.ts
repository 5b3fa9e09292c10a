/**
 * medtrain from a user's script: train a benchmark, then evaluate the run on its test split and
 * predict a few images with its best model.
 *
 *   npx tsx scripts/examples/train-and-evaluate.ts [DATA] [RUN] [BENCHMARK]
 *
 * DATA: a dataset folder (default: $MEDTRAIN_DATA, ./data, else the phantom set, made once and cached);
 * RUN: the run folder (default: a free models/<name>[-N]); BENCHMARK: the benchmark name (default a
 * compact DenseNet at 64 px for 2 epochs, minutes on a CPU).
 *
 * In a project that depends on medtrain, `import … from 'medtrain'` resolves to the built package;
 * in this repository tsconfig.json maps it to src/index.ts, so the example runs on the sources.
 */
import { join } from 'node:path';
import { Benchmark, Experiment, evaluateRun, predictRun } from 'medtrain';

const [data, out, name = 'DenseNetMini_chexpert_BCE_E2_B16_N5_D64'] = process.argv.slice(2);

// 1. A benchmark from its name; any field can be overridden (as the CLI flags do).
const benchmark = Benchmark.parse(name).withOverrides({ learningRate: 1e-3 });

// 2. An experiment: resolves the data, the engine and every setting; run() trains and writes the run folder.
const experiment = await Experiment.create(benchmark, { data, out, progress: false, experimentLog: false });
const { dir, summary } = await experiment.run();
console.log(`trained ${summary.name} in ${summary.seconds.toFixed(1)} s on ${summary.engine}: val macro AUROC ${summary.val.macro_auroc?.toFixed(4)}, best epoch ${summary.bestEpoch}`);

// 3. The saved run: its best model on the test split, at the thresholds chosen on val.
const test = await evaluateRun(dir, { split: 'test' });
console.log(`test macro AUROC ${test.figures.macro_auroc?.toFixed(4)} over ${test.report.macro.classes} classes`);
for (const [cls, m] of Object.entries(test.report.classes)) console.log(`  ${cls}: AUROC ${m.auroc?.toFixed(3) ?? 'undefined'}`);

// 4. Probabilities and labels for images: here the images of the run's data folder's validation table.
const images = join(experiment.config.data.dir, 'CheXpert-v1.0-small', 'valid');
const { predictions } = await predictRun(dir, [images], { out: join(dir, 'predictions-example.csv') });
for (const p of predictions.slice(0, 3)) {
  const found = Object.entries(p.labels).filter(([, v]) => v === 1).map(([c]) => c);
  console.log(`  ${p.id}: ${found.join(', ') || 'nothing above threshold'}`);
}
console.log(`${predictions.length} predictions in ${join(dir, 'predictions-example.csv')}; the whole run is in ${dir}`);
