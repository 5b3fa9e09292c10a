/**
 * medtrain as a user gets it: the packed tarball installed into a fresh project (npm registry
 * needed), the native engine set up there with `npx medtrain setup tensorflow`, a TypeScript script
 * and the README's TypeScript examples type-checked against the published types with skipLibCheck:
 * false, the script run (Benchmark → Experiment on a tiny phantom set → evaluate → predict,
 * importing @tensorflow/tfjs beside medtrain), and the CLI through `npx medtrain` (a batch among
 * them). It asserts the native engine did the work, one copy of tfjs (no "already registered"
 * line), no native log line, and no development dependency in the install.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeEngine } from '../../src/backend/engines.js';
import { ROOT } from '../helpers/cli.js';
import { shBlocks, tsBlocks } from '../helpers/readme.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; devDependencies: Record<string, string> };
const NATIVE = /absl::|oneDNN|port\.cc|maxDynamic|artificially reduced/;
const REGISTERED = /already registered/;

let tmp: string;
let proj: string;
let tarball: string;
const outputs: string[] = [];

/** Run a command in the project; its stderr is kept for the checks at the end. */
function sh(cmd: string, args: string[], o: { env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const r = spawnSync(cmd, args, { cwd: proj, encoding: 'utf8', timeout: o.timeout ?? 300_000, env: { ...process.env, VITEST: '', MEDTRAIN_LOG_LEVEL: 'info', MEDTRAIN_CACHE_DIR: join(tmp, 'cache'), ...o.env } });
  outputs.push(`$ ${cmd} ${args.join(' ')}\n${r.stderr ?? ''}`);
  expect(r.status, `${cmd} ${args.join(' ')}\n${(r.stderr ?? '').slice(-3000)}\n${(r.stdout ?? '').slice(-1000)}`).toBe(0);
  return r;
}

function duBytes(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

/** The README's block for using medtrain in a project (marked `test: package`). */
function readmeLines(): string[] {
  const block = shBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).find((b) => b.mark === 'package');
  expect(block, 'README.md has a block marked <!-- test: package -->').toBeDefined();
  return block!.lines;
}

const SCRIPT = `import * as tf from '@tensorflow/tfjs';
import { Benchmark, Experiment, evaluateRun, makePhantom, predictRun, type RunSummary } from 'medtrain';

const [data, out] = process.argv.slice(2) as [string, string];
await makePhantom({ out: data, patients: 30, size: 64, seed: 1 });
const benchmark = Benchmark.parse('DenseNetMini_chexpert_BCE_E1_B8_N5_D32');
const experiment = await Experiment.create(benchmark, { data, out, weights: 'random', progress: false, experimentLog: false });
const { summary }: { summary: RunSummary } = await experiment.run();
const test = await evaluateRun(out, { split: 'test' });
const predicted = await predictRun(out, [data + '/CheXpert-v1.0-small/valid']);
console.log(JSON.stringify({ backend: tf.getBackend(), engine: summary.engine, auroc: test.figures.macro_auroc, predictions: predicted.predictions.length }));
`;

describe('the packed package in a fresh project', () => {
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'medtrain-package-'));
    proj = join(tmp, 'project');
    mkdirSync(proj);
    execFileSync('npm', ['pack', '--pack-destination', tmp, '--silent'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, VITEST: '' } });
    tarball = join(tmp, `medtrain-${pkg.version}.tgz`);
    writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2));
    // The README's install line, with the packed tarball for the registry's medtrain.
    const [install] = readmeLines();
    expect(install).toBe('npm install medtrain @tensorflow/tfjs');
    sh('npm', ['install', tarball, '@tensorflow/tfjs', '--no-fund', '--no-audit']);
    sh('npm', ['install', `typescript@${pkg.devDependencies.typescript}`, `@types/node@${pkg.devDependencies['@types/node']}`, '--no-fund', '--no-audit']);
  }, 600_000);
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('installs without development dependencies, and reports its size', () => {
    const installed = join(proj, 'node_modules', 'medtrain');
    expect(readdirSync(installed).sort()).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
    // No second tree inside medtrain, and none of its development tools (test runner, linters, tsx, Dawn) in the project.
    for (const d of ['tsx', 'esbuild', 'vitest', 'eslint', 'typescript-eslint', 'webgpu', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-node']) {
      expect(existsSync(join(proj, 'node_modules', d)), `${d} installed with medtrain`).toBe(false);
    }
    expect(existsSync(join(installed, 'node_modules')), 'node_modules inside node_modules/medtrain').toBe(false);
    expect(existsSync(join(proj, 'node_modules', '@tensorflow', 'tfjs'))).toBe(true); // the peer, once
    console.log(JSON.stringify({ tarballBytes: statSync(tarball).size, installBytes: duBytes(join(proj, 'node_modules')) }));
  });

  it("sets up the native engine in the project with the README's npx medtrain setup tensorflow, and trains with its npx medtrain train", async () => {
    if (!(await probeEngine('tensorflow')).present) return; // CI builds it for the checkout; without it here there is no wheel to build from
    const [, setup, train] = readmeLines();
    expect(setup).toBe('npx medtrain setup tensorflow');
    sh('npx', ['--no-install', ...setup!.split(' ').slice(1)], { timeout: 600_000 });
    const trained = sh('npx', ['--no-install', ...train!.split(' ').slice(1)], { timeout: 600_000 });
    expect(trained.stdout).toMatch(/on tensorflow/);
    const r = sh('npx', ['--no-install', 'medtrain', 'setup', 'tensorflow', '--json'], { timeout: 600_000 });
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { package: string; verify: { ok: boolean } | null };
    expect(report.package).toBe('@tensorflow/tfjs-node');
    expect(report.verify?.ok).toBe(true);
    expect(JSON.parse(readFileSync(join(proj, 'package.json'), 'utf8')).dependencies['@tensorflow/tfjs-node']).toBe('4.22.0');
    expect(existsSync(join(proj, 'node_modules', '@tensorflow', 'tfjs-node', 'node_modules', '@tensorflow', 'tfjs'))).toBe(false);
  }, 600_000);

  it('type-checks a script against the published types (skipLibCheck: false) and runs it on the native engine', async () => {
    const native = (await probeEngine('tensorflow')).present;
    writeFileSync(join(proj, 'train.ts'), SCRIPT);
    // The README's TypeScript examples are checked with it.
    const examples = tsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((code, i) => {
      writeFileSync(join(proj, `readme-${i + 1}.ts`), code);
      return `readme-${i + 1}.ts`;
    });
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const options = { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'build' };
    writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...options, skipLibCheck: false }, files: ['train.ts', ...examples] }));
    // Every declaration file is checked: medtrain's, the script and the README's examples must have no
    // error. tfjs's own declarations do not pass a strict check (they are not medtrain's to fix), so only those may fail.
    const check = spawnSync(join(proj, 'node_modules', '.bin', 'tsc'), ['-p', '.', '--noEmit'], { cwd: proj, encoding: 'utf8' });
    const errors = check.stdout.split('\n').filter((l) => /error TS\d+/.test(l));
    expect(errors.filter((l) => !l.startsWith('node_modules/@tensorflow/')), check.stdout).toEqual([]);
    writeFileSync(join(proj, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...options, skipLibCheck: true }, files: ['train.ts'] }));
    sh(join(proj, 'node_modules', '.bin', 'tsc'), ['-p', '.']);
    const r = sh('node', [join('build', 'train.js'), join(tmp, 'phantom'), join(tmp, 'run')], { timeout: 600_000 });
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backend: string; engine: string; auroc: number | null; predictions: number };
    expect(result.engine).toBe(native ? 'tensorflow' : 'wasm');
    expect(result.backend).toBe(result.engine);
    expect(result.predictions).toBeGreaterThan(0);
  }, 600_000);

  it('runs the CLI through npx medtrain', () => {
    const help = sh('npx', ['--no-install', 'medtrain', '--help']);
    expect(help.stdout).toMatch(/usage: medtrain <command>/);
    for (const c of ['train', 'evaluate', 'predict', 'reevaluate', 'batch', 'sweep', 'ensemble', 'explain', 'inspect-data', 'make-phantom', 'models', 'doctor', 'setup']) expect(help.stdout).toContain(`  ${c}`);
    expect(sh('npx', ['--no-install', 'medtrain', 'train', '--help']).stdout).toMatch(/Benchmark names:[\s\S]*\| `E<epochs>` \|/);
    const models = JSON.parse(sh('npx', ['--no-install', 'medtrain', 'models', '--json']).stdout) as { models: { name: string }[] };
    expect(models.models.map((m) => m.name)).toContain('DenseNet121');
    const inspect = JSON.parse(sh('npx', ['--no-install', 'medtrain', 'inspect-data', '--data', join(tmp, 'phantom'), '--json']).stdout) as { dataset: string };
    expect(inspect.dataset).toBe('chexpert');
    const ev = JSON.parse(sh('npx', ['--no-install', 'medtrain', 'evaluate', '--run', join(tmp, 'run'), '--json']).stdout) as { model: { by: string } };
    expect(ev.model.by).toBe('monitor');
    sh('npx', ['--no-install', 'medtrain', 'doctor', '--measure', 'none']);
    // A batch runs its benchmarks through the installed command (medtrain train in child processes).
    writeFileSync(join(proj, 'batch.json'), JSON.stringify({ benchmarks: ['DenseNetMini_chexpert_BCE_E1_B8_N5_D32'], train: { 'no-tensorboard': true } }));
    const batch = JSON.parse(sh('npx', ['--no-install', 'medtrain', 'batch', 'batch.json', '--data', join(tmp, 'phantom'), '--out', join(tmp, 'batch'), '--json'], { timeout: 600_000 }).stdout) as { rows: { status: string }[] };
    expect(batch.rows.map((r) => r.status)).toEqual(['completed']);
  }, 600_000);

  it('builds the GPU engine with npx medtrain setup tensorflow --gpu; without CUDA it checks out on the CPU, and doctor names the CUDA libraries it misses', async () => {
    if (!(await probeEngine('tensorflow')).present) return;
    const r = sh('npx', ['--no-install', 'medtrain', 'setup', 'tensorflow', '--gpu', '--json'], { timeout: 900_000 });
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { package: string; tensorflow: string; verify: { ok: boolean; gpu: boolean; package: string } | null };
    expect(report.package).toBe('@tensorflow/tfjs-node-gpu');
    expect(report.verify).toMatchObject({ ok: true, package: '@tensorflow/tfjs-node-gpu' });
    const doctor = JSON.parse(sh('npx', ['--no-install', 'medtrain', 'doctor', '--measure', 'none', '--json']).stdout) as { engines: { name: string; package?: string; gpu: boolean; cuda?: { found: Record<string, string>; missing: string[] } }[] };
    const tensorflow = doctor.engines.find((e) => e.name === 'tensorflow')!;
    expect(tensorflow.package).toBe('@tensorflow/tfjs-node-gpu');
    expect(tensorflow.cuda?.missing.length, 'this machine has no CUDA libraries').toBeGreaterThan(0);
    expect(tensorflow.gpu).toBe(false);
    expect(sh('npx', ['--no-install', 'medtrain', 'doctor', '--measure', 'none']).stdout).toMatch(/CUDA libraries for tfjs-node-gpu: .*missing libcudart\.so\.12/);
  }, 900_000);

  it('printed no native log line and no second tfjs registration anywhere', () => {
    const all = outputs.join('\n');
    expect(all).not.toMatch(REGISTERED);
    expect(all).not.toMatch(NATIVE);
  });
});
