/**
 * One grammar per concept: the uncertainty encoding, the blank policy, intensity transforms, model
 * tags and learning rates read the same through a benchmark name, the train flags, the data code and
 * the CLIs (`train --dry-run --json`, `inspect-data --json`); the README's grammar table is the one
 * the token table writes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTransforms } from '../../../src/data/image/intensity.js';
import { N14 } from '../../../src/data/labels/classes.js';
import { parseBlankPolicy } from '../../../src/data/labels/encode.js';
import { resolveUncertainty } from '../../../src/data/labels/uncertainty.js';
import { Benchmark } from '../../../src/training/benchmark/benchmark.js';
import { grammarTable } from '../../../src/training/benchmark/name.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** `train --dry-run --json` (the resolved config.json object) for a name and flags. */
function dryRun(args: string[]): Record<string, any> {
  const env: NodeJS.ProcessEnv = { ...process.env, MEDTRAIN_LOG_LEVEL: 'error', MEDTRAIN_ENGINE: 'cpu', MEDTRAIN_CACHE_DIR: join(ROOT, '.cache', 'grammar-test') };
  delete env.MEDTRAIN_DATA;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'train.ts'), ...args, '--weights', 'random', '--dry-run', '--json'], { cwd: ROOT, encoding: 'utf8', env });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim()) as Record<string, any>;
}

/** The real names of the reference codebase's logs that the grammar used to refuse, with the fields they meant. */
const REFERENCE = [
  { name: 'Xception-2_Chexpert_BCE_NoNorm_E5_B32_C0_N12_AugAffine_U75_D256_DS9505_1LR4_LF1_Adam_Upsampled', fields: { model: 'Xception', modelTag: '2', classWeightNorm: 'none', epochs: 5, learningRate: 1e-4, uncertainty: { kind: 'mixed', zeros: 7, ones: 5 } } },
  { name: 'DenseNet121_Chexpert_BCE_E3_B32_C0_N12_Uones_D256_DS9505_LR1_SGD', fields: { model: 'DenseNet121', learningRate: 0.1, optimizer: 'sgd', split: { train: 0.95, val: 0.05 } } },
];

describe('one grammar per concept', () => {
  it('reads the reference names that used to be refused, as their codebase meant them, and round-trips them', () => {
    for (const { name, fields } of REFERENCE) {
      const b = Benchmark.parse(name);
      expect(b, name).toMatchObject(fields);
      expect(Benchmark.parse(b.format()).equals(b)).toBe(true);
      expect(Benchmark.parse(b.format({ full: true })).equals(b)).toBe(true);
    }
    expect(Benchmark.parse(REFERENCE[0]!.name).format()).toMatch(/^Xception_2_chexpert_BCE_NoNorm_E5_B32_N12_/);
    expect(Benchmark.parse('Xception-2-b_chexpert_BCE_E1_B2').modelTag).toBe('2-b');
    expect(Benchmark.parse('Xception-2_run_chexpert_BCE_E1_B2').modelTag).toBe('2_run');
  });

  it('U<z><o> splits where the counts add up, with the labels code and the benchmark alike', () => {
    const b = Benchmark.parse('chexpert_BCE_E3_B32_U104');
    expect(b.uncertainty).toEqual({ kind: 'mixed', zeros: 10, ones: 4 });
    expect(b.format()).toBe('chexpert_BCE_E3_B32_U104');
    const modes = resolveUncertainty('U104', N14);
    expect(modes.filter((m) => m === 'zeros')).toHaveLength(10);
    expect(resolveUncertainty(b.uncertainty, N14)).toEqual(modes);
    expect(Benchmark.parse('chexpert_BCE_E3_B32').withOverrides({ uncertainty: 'U104' }).equals(b)).toBe(true);
    // Ambiguous digits are written with a dash, and read back.
    const amb = Benchmark.parse('chexpert_BCE_E3_B32_N12_U1-11');
    expect(amb.uncertainty).toEqual({ kind: 'mixed', zeros: 1, ones: 11 });
    expect(amb.format()).toBe('chexpert_BCE_E3_B32_N12_U1-11');
  });

  it('per-class uncertainty lists are the same grammar in train and the data code (kept in the config, not in the name)', () => {
    const b = Benchmark.parse('chexpert_BCE_E3_B32_N5').withOverrides({ uncertainty: 'zeros=Atelectasis,Edema;ones=Cardiomegaly' });
    expect(b.uncertainty).toEqual({ kind: 'lists', zeros: ['Atelectasis', 'Edema'], ones: ['Cardiomegaly'] });
    expect(b.format()).toBe('chexpert_BCE_E3_B32_N5_Ulists');
    expect(Benchmark.fromJSON(JSON.parse(JSON.stringify(b.toJSON()))).equals(b)).toBe(true);
    expect(resolveUncertainty(b.uncertainty, ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion'])).toEqual(['zeros', 'ones', 'ignore', 'zeros', 'ignore']);
  });

  it('gb2 is a transform of the image code and of the benchmark', () => {
    expect(parseTransforms('gb2')).toEqual([{ kind: 'blur', sigma: 2 }]);
    const b = Benchmark.parse('chexpert_BCE_E3_B32_gb2_hist');
    expect(b.transforms).toEqual([{ kind: 'blur', sigma: 2 }, { kind: 'hist' }]);
    expect(b.format()).toBe('chexpert_BCE_E3_B32_gb2_hist');
    expect(Benchmark.parse('chexpert_BCE_E3_B32').withOverrides({ transforms: 'gb2,hist' }).equals(b)).toBe(true);
  });

  it('the blank policy reads alike everywhere (ignore = mask)', () => {
    expect(parseBlankPolicy('ignore')).toBe('mask');
    const b = Benchmark.parse('chexpert_BCE_E3_B32').withOverrides({ 'blank-policy': 'ignore' });
    expect(b.blankPolicy).toBe('mask');
    expect(b.format()).toBe('chexpert_BCE_E3_B32_BlankMask');
    expect(Benchmark.parse('chexpert_BCE_E3_B32_BlankIgnore').equals(b)).toBe(true);
  });

  it('a learning rate without its mantissa is 1·10^-k', () => {
    expect(Benchmark.parse('chexpert_BCE_E3_B32_LR1').learningRate).toBe(0.1);
    expect(Benchmark.parse('chexpert_BCE_E3_B32_LR4').format()).toBe('chexpert_BCE_E3_B32_1LR4');
    expect(Benchmark.parse('chexpert_BCE_E3_B32').withOverrides({ 'learning-rate': 'LR2' }).learningRate).toBe(0.01);
  });

  it('train --dry-run --json resolves the same fields from names and flags', () => {
    const fromName = dryRun(['--benchmark', 'Xception-2_chexpert_BCE_E3_B32_gb2_U104_BlankIgnore_LR1']);
    expect(fromName).toMatchObject({ model: 'Xception', modelTag: '2', transforms: [{ kind: 'blur', sigma: 2 }], uncertainty: { kind: 'mixed', zeros: 10, ones: 4 }, blankPolicy: 'mask', learningRate: 0.1 });
    expect(fromName.name).toBe('Xception_2_chexpert_BCE_E3_B32_gb2_U104_BlankMask_1LR1_cpu');
    const fromFlags = dryRun(['--benchmark', 'chexpert_BCE_E3_B32', '--model', 'Xception', '--model-tag', '2', '--transforms', 'gb2', '--uncertainty', 'U104', '--blank-policy', 'ignore', '--learning-rate', 'LR1']);
    for (const k of ['name', 'model', 'modelTag', 'transforms', 'uncertainty', 'blankPolicy', 'learningRate']) expect(fromFlags[k], k).toEqual(fromName[k]);
  });

  it('the README holds the grammar table the token table writes', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const m = /<!-- benchmark-grammar -->\n([\s\S]*?)\n<!-- \/benchmark-grammar -->/.exec(readme);
    expect(m, 'README.md lacks the <!-- benchmark-grammar --> block').not.toBeNull();
    expect(m![1]).toBe(grammarTable());
  });
});
