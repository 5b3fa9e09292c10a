import { describe, it, expect, afterAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend, probeEngines, pickAuto, resolveEngineRequest, shutdownBackend, type EngineProbe } from '../../src/backend/index.js';
import { MedtrainError } from '../../src/util/errors.js';

afterAll(() => shutdownBackend());

describe('engine layer', () => {
  it('resolves engine names from the argument and MEDTRAIN_ENGINE', () => {
    expect(resolveEngineRequest('WASM')).toBe('wasm');
    expect(resolveEngineRequest('tfjs-node')).toBe('tensorflow');
    const old = process.env.MEDTRAIN_ENGINE;
    process.env.MEDTRAIN_ENGINE = 'cpu';
    try {
      expect(resolveEngineRequest(undefined)).toBe('cpu');
    } finally {
      if (old === undefined) delete process.env.MEDTRAIN_ENGINE;
      else process.env.MEDTRAIN_ENGINE = old;
    }
    expect(() => resolveEngineRequest('cuda')).toThrow(MedtrainError);
  });

  it('auto prefers a real GPU, then native TensorFlow, then WASM, then a software WebGPU adapter, then plain JS', () => {
    const p = (name: EngineProbe['name'], present: boolean, gpu = false): EngineProbe => ({ name, present, gpu, device: 'd', reason: null, install: null });
    expect(pickAuto([p('tensorflow', false), p('webgpu', true, false), p('wasm', true), p('cpu', true)]).name).toBe('wasm');
    expect(pickAuto([p('tensorflow', true, false), p('webgpu', true, false), p('wasm', true), p('cpu', true)]).name).toBe('tensorflow');
    expect(pickAuto([p('tensorflow', true, false), p('webgpu', true, true), p('wasm', true), p('cpu', true)]).name).toBe('webgpu');
    expect(pickAuto([p('tensorflow', true, true), p('webgpu', true, true), p('wasm', true), p('cpu', true)]).name).toBe('tensorflow');
    expect(pickAuto([p('tensorflow', false), p('webgpu', false), p('wasm', false), p('cpu', true)]).name).toBe('cpu');
  });

  it('probes every engine and starts the present ones', async () => {
    const probes = await probeEngines();
    expect(probes.map((p) => p.name)).toEqual(['tensorflow', 'webgpu', 'wasm', 'cpu']);
    for (const p of probes) {
      if (p.present) expect(p.device).toBeTruthy();
      else expect(p.reason).toBeTruthy();
    }
    for (const p of probes.filter((q) => q.present && q.name !== 'tensorflow')) {
      const info = await initBackend(p.name, { quiet: true });
      expect(info.engine).toBe(p.name);
      expect(tf.getBackend()).toBe(p.name);
      const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])));
      expect(Array.from(await y.data())).toEqual([3, 3, 3, 3]);
      y.dispose();
    }
  });

  it('asking for an absent engine lists what is present and how to install it', async () => {
    const probes = await probeEngines();
    const absent = probes.find((p) => !p.present);
    if (!absent) return; // every engine present on this machine: nothing to refuse
    const err = await initBackend(absent.name, { quiet: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MedtrainError);
    expect((err as MedtrainError).message).toMatch(/present here: .*cpu/);
    expect((err as MedtrainError).message).toMatch(/To install/);
  });
});
