/**
 * The README is a guide a newcomer follows, so its commands are run and its generated blocks are
 * checked: the grammar table (the token table's), the headline figures (the latest harness JSON in
 * bench/results/) and the command list (scripts/commands.ts) must equal what tools/readme.ts writes.
 * Every ```sh block runs: plain ones here, line by line as written in a fresh folder (`medtrain` is
 * the repository's command, from source); the one marked `test: package` in test/package (a packed
 * install); the one marked `test: ci` is what .ci/run runs, and its main job runs here as written.
 * The ```ts blocks are type-checked in test/package against the published types; the files under
 * `<!-- file: NAME -->` are written where the commands run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCKS, readmeBlock } from '../tools/readme.js';
import { ROOT, testEnv } from './helpers/cli.js';
import { fileBlocks, shBlocks } from './helpers/readme.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

const tmp = mkdtempSync(join(tmpdir(), 'medtrain-readme-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the README', () => {
  it('holds the generated blocks as tools/readme.ts writes them', () => {
    for (const [name, make] of Object.entries(BLOCKS)) expect(readmeBlock(README, name), `<!-- ${name} --> (npx tsx tools/readme.ts writes it)`).toBe(make());
  });

  it('marks every shell block it does not run here, and the marks are what they say', () => {
    const blocks = shBlocks(README);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    for (const b of blocks) expect([null, 'ci', 'package'], b.lines.join('; ')).toContain(b.mark);
    const ci = blocks.find((b) => b.mark === 'ci')!;
    const run = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    const [setup, tests] = ci.lines;
    expect(setup).toMatch(/^bash tools\/install\.sh && npm run train -- --benchmark \S+$/);
    expect(readFileSync(join(ROOT, 'tools', 'install-test-deps.sh'), 'utf8')).toMatch(/bash tools\/install\.sh/);
    const engines = /MEDTRAIN_TEST_ENGINE=(\S+) npm test$/.exec(tests!)?.[1];
    expect(run).toContain('bash tools/install-test-deps.sh');
    expect(run).toContain(`export MEDTRAIN_TEST_ENGINE=${engines}`);
    expect(run).toMatch(/^npm test$/m);
    expect(readFileSync(join(ROOT, 'test', 'package', 'install.test.ts'), 'utf8')).toContain("shBlocks(readFileSync(join(ROOT, 'README.md')");
  });

  it('its first session runs as written', () => {
    const lines = shBlocks(README).filter((b) => b.mark === null).flatMap((b) => b.lines).filter((l) => l.startsWith('medtrain '));
    expect(lines.length).toBeGreaterThanOrEqual(5);
    const cwd = join(tmp, 'session');
    rmSync(cwd, { recursive: true, force: true });
    spawnSync('mkdir', ['-p', cwd]);
    const files = fileBlocks(README);
    expect(files.map((f) => f.name)).toEqual(['batch.yaml', 'sweep.json']);
    for (const f of files) writeFileSync(join(cwd, f.name), f.content);
    for (const line of lines) {
      const [, command, ...args] = line.split(/\s+/);
      const r = spawnSync(process.execPath, ['--import', join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs'), join(ROOT, 'scripts', `${command}.ts`), ...args], {
        cwd,
        encoding: 'utf8',
        timeout: 300_000,
        env: testEnv({ MEDTRAIN_LOG_LEVEL: 'warn', MEDTRAIN_CACHE_DIR: join(tmp, 'cache'), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') }),
      });
      expect(r.status, `${line}\n${r.stderr.slice(-3000)}`).toBe(0);
    }
    expect(existsSync(join(cwd, 'runs', 'mini', 'summary.json'))).toBe(true);
    expect(existsSync(join(cwd, 'runs', 'mini', 'reevaluation.json'))).toBe(true);
    expect(JSON.parse(readFileSync(join(cwd, 'runs', 'cv', 'cv.json'), 'utf8')).pooled.rows).toBeGreaterThan(0);
    expect(readFileSync(join(cwd, 'runs', 'batch', 'results.csv'), 'utf8').trim().split('\n')).toHaveLength(4);
    expect(JSON.parse(readFileSync(join(cwd, 'runs', 'sweep', 'sweep.json'), 'utf8')).trials).toHaveLength(3);
  }, 600_000);

  it("its main job (the first of the two commands) runs as written, in this checkout", () => {
    const ci = shBlocks(README).find((b) => b.mark === 'ci')!;
    const main = ci.lines[0]!.split(' && ')[1]!; // tools/install.sh is what CI has just run
    const [npm, ...args] = main.split(/\s+/);
    const r = spawnSync(npm!, args, { cwd: ROOT, encoding: 'utf8', timeout: 900_000, env: testEnv({ MEDTRAIN_LOG_LEVEL: 'warn' }) });
    expect(r.status, `${main}\n${r.stderr.slice(-3000)}`).toBe(0);
    const folder = /^run folder: (.+)$/m.exec(r.stdout)?.[1];
    expect(folder, r.stdout).toMatch(/models\/DenseNetMini_chexpert_CWBCE_E3_B32_D64(-\d+)?$/);
    expect(readmeBlock(README, 'headline-figures')).toContain('npm run train -- --benchmark chexpert_CWBCE_E3_B32');
    expect(README).toContain('`models/DenseNetMini_chexpert_CWBCE_E3_B32_D64`');
    rmSync(folder!, { recursive: true, force: true });
  }, 900_000);
});
