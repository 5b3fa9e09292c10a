/**
 * The native TensorFlow engine as `medtrain setup tensorflow` builds it (tfjs-node on libtensorflow
 * from a TensorFlow wheel). Skips when the engine is absent, unless MEDTRAIN_TEST_ENGINE names
 * tensorflow (as CI does after the setup): then an absent engine is a failure.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, probeEngine, probeEngines, shutdownBackend } from '../../src/backend/index.js';
import { ROOT, TF_VERSIONS } from '../../tools/tensorflow/common.js';
import { opParity, trainParity } from '../../tools/tensorflow/verify.js';
import { describeEngines, testEngines } from '../helpers/engines.js';

const required = testEngines().includes('tensorflow');
const probe = await probeEngine('tensorflow');
const suite = probe.present || required ? describe : describe.skip;
const why = probe.present ? '' : ` (skipped: ${probe.reason}; \`npm run setup:tensorflow\` builds it)`;
// Present when setup:tensorflow built the addon (a tfjs-node installed the usual way has none).
const stampFile = join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'deps', 'medtrain-setup.json');
const stamp = existsSync(stampFile) ? (JSON.parse(readFileSync(stampFile, 'utf8')) as { tensorflow: string }) : null;

afterAll(() => shutdownBackend());

function setupCli(args: string[]): { status: number | null; json: Record<string, unknown> } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'setup.ts'), ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, json: JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as Record<string, unknown> };
}

describe('medtrain setup command line', () => {
  it('rejects a malformed --tf-version with a message naming the flag and value', () => {
    const r = setupCli(['tensorflow', '--tf-version', '2.21', '--json']);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ error: 'bad-flag', column: '--tf-version', value: '2.21' });
  });

  it('names the parts it can set up', () => {
    for (const args of [[], ['webgl']]) {
      const r = setupCli([...args, '--json']);
      expect(r.status).toBe(2);
      expect(String(r.json.hint)).toContain('medtrain setup tensorflow');
    }
  });
});

describeEngines('engine helper for engine-agnostic suites', (engine) => {
  it('starts the engine named in MEDTRAIN_TEST_ENGINE', () => {
    expect(tf.getBackend()).toBe(engine);
  });
});

describe('testEngines', () => {
  it('reads a comma-separated list, defaults to cpu, rejects unknown names', () => {
    expect(testEngines('')).toEqual(['cpu']);
    expect(testEngines(' cpu, tfjs-node ,cpu')).toEqual(['cpu', 'tensorflow']);
    expect(() => testEngines('auto')).toThrow(/by name/);
    expect(() => testEngines('cuda')).toThrow(/unknown engine/);
  });
});

suite(`native TensorFlow engine${why}`, () => {
  it('starts as tfjs-node on the CPU', async () => {
    const info = await initBackend('tensorflow', { quiet: true });
    expect(info).toMatchObject({ engine: 'tensorflow', backend: 'tensorflow', package: '@tensorflow/tfjs-node', gpu: false });
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it.skipIf(!stamp)('loads the libtensorflow of the wheel the setup recorded', async () => {
    await initBackend('tensorflow', { quiet: true });
    const loaded = (tf.backend() as unknown as { binding: { TF_Version: string } }).binding.TF_Version;
    expect(TF_VERSIONS).toContain(stamp!.tensorflow);
    expect(loaded).toBe(stamp!.tensorflow);
  });

  it('computes the forward and gradient ops of a conv net as the CPU engine does, without leaking tensors', async () => {
    await initBackend('tensorflow', { quiet: true });
    const before = tf.memory().numTensors;
    const diffs = await opParity('tensorflow');
    expect(tf.memory().numTensors).toBe(before);
    expect(diffs.length).toBeGreaterThanOrEqual(10);
    for (const d of diffs) {
      expect(d.maxAbs, d.op).toBeGreaterThan(0.1);
      expect(d.ok, `${d.op}: max |diff| ${d.maxAbsDiff}`).toBe(true);
    }
  });

  it('trains a conv net: the same losses and weights as the CPU engine after two SGD steps', async () => {
    const before = tf.memory().numTensors;
    const r = await trainParity('tensorflow');
    expect(tf.memory().numTensors).toBe(before);
    expect(r.losses.engine[1]).toBeLessThan(r.losses.engine[0]!);
    expect(r.losses.engine[0]).toBeCloseTo(r.losses.cpu[0]!, 4);
    expect(r.losses.engine[1]).toBeCloseTo(r.losses.cpu[1]!, 4);
    expect(r.maxWeightDiff).toBeLessThan(1e-3);
    expect(r.ok).toBe(true);
  });

  it('is what auto picks unless a real GPU is present', async () => {
    const probes = await probeEngines();
    const gpu = probes.some((p) => p.present && p.gpu);
    const info = await initBackend('auto', { quiet: true });
    if (!gpu) expect(info.engine).toBe('tensorflow');
    else expect(['tensorflow', 'webgpu']).toContain(info.engine);
  });

  it.skipIf(!stamp)('a second setup run finds the build in place and reports it as JSON', () => {
    const r = setupCli(['tensorflow', '--no-verify', '--json']);
    expect(r.status).toBe(0);
    expect(r.json).toMatchObject({ package: '@tensorflow/tfjs-node', tfjsNode: '4.22.0', built: false, addon: expect.stringMatching(/tfjs_binding\.node$/) });
    expect(TF_VERSIONS).toContain(r.json.tensorflow);
  });
});
