import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunStore } from '../../src/training/run/store.js';

const SCRIPT = join(import.meta.dirname, 'fixtures', 'train-run.ts');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'medtrain-resume-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  final: string;
  epochs: number;
  step: number;
  backend: string;
}

/** Run the child; with `pauseAt`, SIGKILL it once it says it is paused mid-epoch. */
function child(args: string[], pauseAt?: string): Promise<{ code: number | null; signal: string | null; out: Outcome | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args, ...(pauseAt ? ['--pause-at', pauseAt] : [])], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VITEST: '' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => {
      stdout += String(d);
      if (pauseAt && stdout.includes('PAUSED\n')) p.kill('SIGKILL');
    });
    p.stderr.on('data', (d) => (stderr += String(d)));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      const last = stdout.trim().split('\n').pop() ?? '';
      resolve({ code, signal, out: last.startsWith('{') ? (JSON.parse(last) as Outcome) : null, stderr });
    });
  });
}

const timing = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'seconds' && k !== 'images_per_second')));

describe('kill and resume', () => {
  // The wasm engine has no convolution gradients (Conv2DBackpropFilter): a dense net with BatchNorm there.
  it.each([
    ['cpu', 'conv'],
    ['wasm', 'dense'],
  ])('%s (%s net): a run killed by SIGKILL mid-epoch and resumed ends byte-identical to an uninterrupted one', async (engine, kind) => {
    const full = join(dir, `${engine}-full`);
    const cut = join(dir, `${engine}-cut`);
    const a = await child([full, engine, kind]);
    expect(a.code, a.stderr.slice(-2000)).toBe(0);
    expect(a.out!.backend).toBe(engine);
    expect([a.out!.epochs, a.out!.step]).toEqual([3, 12]);

    // Killed in the second epoch, at its third batch: epoch 1 is checkpointed, no more.
    const k = await child([cut, engine, kind], '1:2');
    expect(k.signal).toBe('SIGKILL');
    const store = await RunStore.open(cut);
    expect(await store.listCheckpoints()).toEqual([1]);

    const b = await child([cut, engine, kind, '--resume']);
    expect(b.code, b.stderr.slice(-2000)).toBe(0);
    expect(b.out).toEqual(a.out);
    // The last checkpoints agree to the byte: weights, optimizer moments, and the trainer state.
    const fullStore = await RunStore.open(full);
    for (const f of ['group1-shard1of1.bin', 'optimizer.bin']) {
      expect(readFileSync(join(store.checkpointDir(3), f)).equals(readFileSync(join(fullStore.checkpointDir(3), f))), f).toBe(true);
    }
    const [ca, cb] = await Promise.all([fullStore.loadCheckpoint(3), store.loadCheckpoint(3)]);
    expect(cb!.state.rng).toEqual(ca!.state.rng);
    expect([cb!.state.step, cb!.state.learningRate]).toEqual([ca!.state.step, ca!.state.learningRate]);
    expect(cb!.state.callbacks['early-stopping']).toEqual(ca!.state.callbacks['early-stopping']);
    expect(cb!.state.callbacks['reduce-lr-on-plateau']).toEqual(ca!.state.callbacks['reduce-lr-on-plateau']);
    // The history shows each epoch once, with the same numbers.
    const hist = (d: string) => timing(JSON.parse(readFileSync(join(d, 'history.json'), 'utf8')) as Record<string, unknown>[]);
    expect(hist(cut)).toEqual(hist(full));
    expect(hist(cut).map((r) => r.epoch)).toEqual([1, 2, 3]);
  });
});
