import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { formatDoctor, parseEngineList, runDoctor, type DoctorReport } from '../../src/backend/doctor.js';
import { ENGINES, initBackend, shutdownBackend } from '../../src/backend/index.js';
import { buildSmallCnn, measureSmallCnnThroughput } from '../../src/backend/small-cnn.js';
import { MedtrainError } from '../../src/util/errors.js';

/** The documented JSON shape: engines in order, each with these keys, and the auto choice. */
function expectShape(r: DoctorReport): void {
  expect(r.engines.map((e) => e.name)).toEqual([...ENGINES]);
  for (const e of r.engines) {
    expect(Object.keys(e)).toEqual(expect.arrayContaining(['name', 'present', 'device', 'gpu', 'trainImgPerSec', 'reason']));
    expect(typeof e.present).toBe('boolean');
    expect(typeof e.gpu).toBe('boolean');
    if (e.present) {
      expect(typeof e.device).toBe('string');
      expect(e.reason).toBeNull();
    } else {
      expect(e.device).toBeNull();
      expect(e.trainImgPerSec).toBeNull();
      expect(typeof e.reason).toBe('string');
      expect(e.install).toBeTruthy();
    }
  }
  expect(r.engines.find((e) => e.name === r.auto)?.present).toBe(true);
}

describe('doctor', () => {
  it('reports every engine and measures the ones asked for', async () => {
    const before = tf.memory().numTensors;
    const r = await runDoctor({ measure: ['cpu', 'wasm'], size: 16, seconds: 0.2 });
    expectShape(r);
    const json = JSON.parse(JSON.stringify(r)) as DoctorReport;
    expect(json).toEqual(r);
    for (const name of ['cpu', 'wasm'] as const) {
      const e = r.engines.find((x) => x.name === name)!;
      expect(e.present).toBe(true);
      expect(e.gpu).toBe(false);
      expect(e.trainError).toBeUndefined();
      expect(e.trainImgPerSec).toBeGreaterThan(0);
      expect(e.measured!.size).toBe(16);
      expect(e.measured!.steps).toBeGreaterThanOrEqual(1);
    }
    // Present but not asked for: no figure, no error.
    for (const e of r.engines.filter((x) => x.present && x.name !== 'cpu' && x.name !== 'wasm')) {
      expect(e.trainImgPerSec).toBeNull();
      expect(e.measured).toBeUndefined();
    }
    expect(r.auto).not.toBe('cpu');
    const text = formatDoctor(r);
    for (const name of ENGINES) expect(text).toMatch(new RegExp(`^${name}\\s`, 'm'));
    expect(text).toContain(`auto picks: ${r.auto}`);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('`npm run doctor -- --json` prints one JSON object of that shape', () => {
    const r = spawnSync('npx', ['tsx', 'scripts/doctor.ts', '--json', '--measure', 'wasm', '--seconds', '0.1'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as DoctorReport;
    expectShape(report);
    expect(report.engines.find((e) => e.name === 'wasm')!.trainImgPerSec).toBeGreaterThan(0);
    // webgpu is found here (lavapipe) but is a software adapter, not a GPU.
    const webgpu = report.engines.find((e) => e.name === 'webgpu')!;
    if (webgpu.present && /llvmpipe|lavapipe|swiftshader/i.test(webgpu.device ?? '')) expect(webgpu.gpu).toBe(false);
  });

  it('names an unknown engine in --measure', () => {
    expect(parseEngineList('wasm, cpu')).toEqual(['wasm', 'cpu']);
    expect(parseEngineList('all')).toEqual([...ENGINES]);
    expect(parseEngineList('none')).toEqual([]);
    expect(() => parseEngineList('wasm,cuda')).toThrow(MedtrainError);
    expect(() => parseEngineList('wasm,cuda')).toThrow(/cuda/);
  });
});

describe('the small CNN', () => {
  it('trains on batches and leaves no tensors behind', async () => {
    await initBackend('wasm', { quiet: true });
    try {
      const before = tf.memory().numTensors;
      const m = buildSmallCnn({ size: 32, classes: 3 });
      expect(m.outputs[0]!.shape).toEqual([null, 3]);
      expect(m.layers.filter((l) => l.getClassName() === 'Conv2D')).toHaveLength(3);
      m.optimizer!.dispose();
      m.dispose();
      const r = await measureSmallCnnThroughput({ size: 32, batch: 4, warmup: 1, minSteps: 2, maxSteps: 2 });
      expect(r.steps).toBe(2);
      expect(r.batch).toBe(4);
      expect(Number.isFinite(r.lastLoss)).toBe(true);
      expect(r.imgPerSec).toBeGreaterThan(0);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      shutdownBackend();
    }
  });
});
