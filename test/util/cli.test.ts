import { describe, expect, it } from 'vitest';
import { parseCli, type FlagSpecs } from '../../src/util/cli.js';
import { MedtrainError } from '../../src/util/errors.js';

const FLAGS = {
  epochs: { type: 'string', value: 'N', help: 'epochs' },
  out: { type: 'string', short: 'o', value: 'DIR', help: 'output folder' },
  verbose: { type: 'boolean', help: 'more' },
} satisfies FlagSpecs;

function error(argv: string[]): MedtrainError {
  try {
    parseCli('train', FLAGS, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(MedtrainError);
    return e as MedtrainError;
  }
  throw new Error(`parseCli accepted ${argv.join(' ')}`);
}

describe('parseCli: a flag without its value', () => {
  it('a value starting with "-" names the flag and says to write --flag=-5, not "argument is ambiguous"', () => {
    const e = error(['--epochs', '-5']);
    expect(e.message).not.toMatch(/ambiguous/);
    expect(e.problem).toMatch(/^--epochs needs a value/);
    expect(e).toMatchObject({ code: 'bad-flag', column: '--epochs', value: '-5', hint: 'write it as --epochs=-5' });
    // The short name of a flag too.
    expect(error(['-o', '-x'])).toMatchObject({ column: '--out', hint: 'write it as --out=-x' });
  });

  it('a flag at the end of the line, or followed by another flag, needs a value', () => {
    const end = error(['--verbose', '--epochs']);
    expect(end.message).not.toMatch(/argument missing|ambiguous/);
    expect(end).toMatchObject({ problem: '--epochs needs a value', code: 'bad-flag', column: '--epochs', hint: 'write --epochs N' });
    const next = error(['--epochs', '--verbose']);
    expect(next).toMatchObject({ code: 'bad-flag', column: '--epochs', hint: 'write --epochs N' });
    expect(next.problem).toMatch(/^--epochs needs a value \(the next word, --verbose, is a flag\)/);
  });

  it('still reads --epochs=-5, values after flags, boolean flags and what follows --', () => {
    expect(parseCli('train', FLAGS, ['--epochs=-5', '--verbose']).flags).toMatchObject({ epochs: '-5', verbose: true });
    expect(parseCli('train', FLAGS, ['--out', 'runs', '--epochs', '3']).flags).toMatchObject({ out: 'runs', epochs: '3' });
    expect(parseCli('train', FLAGS, ['--verbose', '--', '--epochs'], { positionals: true }).positionals).toEqual(['--epochs']);
    expect(error(['--epochz', '3'])).toMatchObject({ code: 'bad-flag', value: '--epochz' });
  });
});
