/**
 * `medtrain make-phantom --out DIR [--patients N] [--size PX] [--seed S] [--force] [--json]`:
 * write the synthetic CheXpert-format phantom set (train.csv, valid.csv, CheXpert-v1.0-small/).
 */
import { cli, MedtrainError, PHANTOM_DEFAULTS, makePhantom } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  out: { type: 'string', value: 'DIR', help: 'output folder (new, empty, or an earlier phantom set)' },
  patients: { type: 'string', value: 'N', help: 'number of patients, 20% of them in valid.csv', default: String(PHANTOM_DEFAULTS.patients) },
  size: { type: 'string', value: 'PX', help: 'image width in pixels (height = width × 390/320, as CheXpert-small)', default: String(PHANTOM_DEFAULTS.size) },
  seed: { type: 'string', value: 'S', help: 'seed: the same seed gives byte-identical files', default: String(PHANTOM_DEFAULTS.seed) },
  force: { type: 'boolean', help: 'write into a non-empty folder that is not a phantom set' },
} as const;

runMain(async () => {
  const { flags } = parseCli('make-phantom', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('make-phantom', COMMANDS['make-phantom'], FLAGS));
    return;
  }
  if (!flags.out) throw new MedtrainError('make-phantom needs --out DIR', { code: 'bad-flag', column: '--out', hint: 'e.g. medtrain make-phantom --out data/phantom' });
  const summary = await makePhantom({
    out: flags.out,
    patients: numberFlag('patients', flags.patients, { integer: true, min: 1 }),
    size: numberFlag('size', flags.size, { integer: true, min: 16, max: 2048 }),
    seed: flags.seed,
    force: flags.force,
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  const line = (name: string, s: typeof summary.train) => `  ${name}: ${s.patients} patients, ${s.studies} studies, ${s.images} images (${s.frontal} frontal, ${s.lateral} lateral)`;
  process.stdout.write(
    `phantom set in ${summary.out} (seed ${summary.seed}, ${summary.width}×${summary.height} px, ${(summary.bytes / 1e6).toFixed(1)} MB, ${summary.seconds.toFixed(1)} s)\n` +
      `${line('train.csv', summary.train)}\n${line('valid.csv', summary.valid)}\n`,
  );
});
