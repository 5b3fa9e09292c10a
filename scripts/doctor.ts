/**
 * `medtrain doctor [--json] [--measure ENGINES] [--seconds S]`: every engine, present or absent
 * and why, its device, whether it is a real GPU, and the small CNN's measured train img/s.
 */
import { cli, formatDoctor, runDoctor } from 'medtrain';
import { COMMANDS } from './commands.js';

const { numberFlag, parseCli, runMain, usage } = cli;

const FLAGS = {
  measure: { type: 'string', value: 'LIST', help: 'engines to time, comma-separated, or all / none', default: 'all' },
  seconds: { type: 'string', value: 'S', help: 'time to spend on each engine\'s timed steps', default: '2' },
} as const;

runMain(async () => {
  const { flags } = parseCli('doctor', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('doctor', COMMANDS.doctor, FLAGS));
    return;
  }
  const report = await runDoctor({
    measure: flags.measure ?? 'all',
    seconds: numberFlag('seconds', flags.seconds, { min: 0, max: 600 }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : formatDoctor(report));
});
