/**
 * The WASM engine's threads: MEDTRAIN_WASM_THREADS parsing, and in a fresh process per setting, the
 * threaded build (or the single-threaded one) starts, trains a convolution like the CPU engine and
 * lets Node exit by itself.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MAX_WASM_THREADS, wasmThreadsRequest } from '../../src/backend/wasm.js';
import { MedtrainError } from '../../src/util/errors.js';

const root = join(import.meta.dirname, '..', '..');
let dir: string;

// Trains one conv + depthwise step on wasm and on cpu from the same numbers; prints one JSON line.
const CHILD = `
import * as tf from ${JSON.stringify(pathToFileURL(createRequire(import.meta.url).resolve('@tensorflow/tfjs')).href)};
import { initBackend } from ${JSON.stringify(pathToFileURL(join(root, 'src/backend/index.ts')).href)};
import { wasmThreads } from ${JSON.stringify(pathToFileURL(join(root, 'src/backend/wasm.ts')).href)};
const info = await initBackend('wasm', { quiet: true });
const n = (k) => Array.from({ length: k }, (_, i) => Math.sin(i * 12.9898) * 2);
const f = (x, w, d) => tf.add(tf.conv2d(x, w, 2, 'same').square().sum(), tf.depthwiseConv2d(x, d, 1, 'same').sum());
async function grads(engine) {
  await tf.setBackend(engine);
  const x = tf.tensor4d(n(2 * 20 * 20 * 16), [2, 20, 20, 16]);
  const w = tf.tensor4d(n(3 * 3 * 16 * 32), [3, 3, 16, 32]);
  const d = tf.tensor4d(n(3 * 3 * 16 * 1), [3, 3, 16, 1]);
  const g = tf.grads(f)([x, w, d]);
  return g.map((t) => Array.from(t.dataSync()));
}
const a = await grads('wasm');
const b = await grads('cpu');
let diff = 0;
a.forEach((g, i) => { const m = Math.max(...b[i].map(Math.abs)); g.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - b[i][j]) / m); }); });
process.stdout.write(JSON.stringify({ threads: wasmThreads(), engine: info.engine, diff }) + '\\n');
`;

beforeAll(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'medtrain-wasm-threads-'));
  writeFileSync(join(dir, 'child.mts'), CHILD);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('WASM threads', () => {
  it('reads MEDTRAIN_WASM_THREADS', () => {
    expect(wasmThreadsRequest('auto')).toBe(Math.min(MAX_WASM_THREADS, os.availableParallelism()));
    expect(wasmThreadsRequest('')).toBe(wasmThreadsRequest('auto'));
    expect(wasmThreadsRequest('off')).toBe(1);
    expect(wasmThreadsRequest('1')).toBe(1);
    expect(wasmThreadsRequest(' 3 ')).toBe(3);
    expect(wasmThreadsRequest('64')).toBe(MAX_WASM_THREADS);
    expect(() => wasmThreadsRequest('many')).toThrow(MedtrainError);
    expect(() => wasmThreadsRequest('1.5')).toThrow(/MEDTRAIN_WASM_THREADS/);
  });

  it.each([
    ['2', 2],
    ['off', 1],
  ])('MEDTRAIN_WASM_THREADS=%s: starts with %i thread(s), matches the CPU engine, and Node exits on its own', (setting, threads) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'child.mts')], {
      cwd: root,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, MEDTRAIN_WASM_THREADS: setting, MEDTRAIN_LOG_LEVEL: 'warn' },
    });
    expect(r.signal, `killed: it did not exit (stderr: ${r.stderr})`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out).toMatchObject({ engine: 'wasm', threads });
    expect(out.diff).toBeLessThanOrEqual(1e-4);
  });
});
