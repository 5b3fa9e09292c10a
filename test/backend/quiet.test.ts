/**
 * A quiet console: the native libraries' own log lines (libtensorflow's absl lines, Dawn's limit
 * warnings) stay off stderr unless the log level is debug; `auto` starts no WebGPU adapter on a
 * machine without a GPU device; an uncaught error in a user's script on the WASM engine shows the
 * user's error, not Emscripten's source.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeEngine } from '../../src/backend/engines.js';
import { gpuDevicePresent } from '../../src/backend/quiet.js';
import { ROOT, testEnv } from '../helpers/cli.js';

const NATIVE = /absl|oneDNN|port\.cc|maxDynamic|artificially reduced|cpu_feature_guard/;
const tmp = mkdtempSync(join(tmpdir(), 'medtrain-quiet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function node(args: string[], env: NodeJS.ProcessEnv = testEnv()) {
  return spawnSync(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
}

describe('the console', () => {
  it('shows no native log line, whatever engine auto picks, and every engine under doctor', async () => {
    const tensorflow = (await probeEngine('tensorflow')).present;
    const r = node([join(ROOT, 'scripts', 'doctor.ts'), '--measure', 'none']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(NATIVE);
    expect(r.stdout).toMatch(/auto picks: /);
    if (tensorflow) expect(r.stdout).toMatch(/auto picks: tensorflow/);
    // At debug level the native output is let through (libtensorflow's own lines show there).
    if (tensorflow) {
      const debug = node([join(ROOT, 'scripts', 'doctor.ts'), '--measure', 'none', '--log-level', 'debug']);
      expect(debug.stderr).toMatch(/oneDNN|absl/);
    }
  });

  it("auto starts no WebGPU adapter without a GPU device (Dawn's warnings would say so)", () => {
    if (gpuDevicePresent()) return; // a machine with a GPU may rank WebGPU first
    const script = join(tmp, 'auto.mts');
    writeFileSync(script, `import { initBackend } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};\nconst e = await initBackend('auto', { quiet: true });\nconsole.log(e.engine);\n`);
    const r = node([script], testEnv({ MEDTRAIN_LOG_LEVEL: 'debug' }));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/maxDynamic|artificially reduced/);
    expect(r.stdout.trim()).not.toBe('webgpu');
  });

  it("an uncaught error on the WASM engine is the user's own error and stack, exit 1", () => {
    const script = join(tmp, 'throws.mts');
    writeFileSync(script, `import { initBackend } from ${JSON.stringify(join(ROOT, 'src', 'index.ts'))};\nawait initBackend('wasm', { quiet: true });\nthrow new Error('the user script failed here');\n`);
    const r = node([script]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error: the user script failed here');
    expect(r.stderr).toContain('throws.mts:3');
    expect(r.stderr).not.toMatch(/GROWABLE_HEAP|wasm-out/);
    expect(r.stderr.length).toBeLessThan(2000);
  });
});
