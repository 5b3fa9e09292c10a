import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendExperimentLog, readExperimentLog, type ExperimentLogEntry } from '../../../src/training/run/experiment-log.js';
import { MedtrainError } from '../../../src/util/errors.js';
import { setConsoleSink, getConsoleSink } from '../../../src/util/logger.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'medtrain-explog-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const entry = (i: number, extra: Record<string, unknown> = {}): ExperimentLogEntry => ({ time: new Date(0).toISOString(), name: `n${i}`, run: `r${i}`, status: 'completed', ...extra });

describe('experiment log', () => {
  it('8 concurrent writer processes append to one log and every line is intact', async () => {
    const log = join(dir, 'models', 'experiment-log.jsonl');
    const go = join(dir, 'go');
    const WRITERS = 8;
    const LINES = 40;
    const script = join(import.meta.dirname, '..', 'fixtures', 'log-writer.ts');
    let ready = 0;
    const done = Array.from({ length: WRITERS }, (_, id) => {
      return new Promise<number | null>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', script, log, String(id), String(LINES), go], { stdio: ['ignore', 'pipe', 'pipe'] });
        let err = '';
        p.stdout.on('data', (d) => {
          if (String(d).includes('READY') && ++ready === WRITERS) writeFileSync(go, '');
        });
        p.stderr.on('data', (d) => (err += String(d)));
        p.on('error', reject);
        p.on('exit', (code) => (code === 0 ? resolve(code) : reject(new Error(`writer ${id} exited ${code}: ${err.slice(-1000)}`))));
      });
    });
    await Promise.all(done);
    const text = readFileSync(log, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.slice(0, -1).split('\n');
    expect(lines).toHaveLength(WRITERS * LINES);
    const seen = new Map<number, number[]>();
    for (const l of lines) {
      const e = JSON.parse(l) as ExperimentLogEntry & { writer: number; seq: number; size: number; payload: string };
      expect(e.payload.length).toBe(e.size);
      expect(e.payload.startsWith(`${e.writer}:${e.seq}:`)).toBe(true);
      expect(new Set(e.payload.slice(`${e.writer}:${e.seq}:`.length)).size).toBeLessThanOrEqual(1);
      seen.set(e.writer, [...(seen.get(e.writer) ?? []), e.seq]);
    }
    for (let w = 0; w < WRITERS; w++) expect(seen.get(w)).toEqual(Array.from({ length: LINES }, (_, i) => i));
    expect(existsSync(`${log}.lock`)).toBe(false);
    const back = await readExperimentLog(log);
    expect(back.entries).toHaveLength(WRITERS * LINES);
    expect(back.skipped).toEqual([]);
  });

  it('reads back a log with a torn last line and a bad line, naming them', async () => {
    const log = join(dir, 'torn.jsonl');
    await appendExperimentLog(entry(1), log);
    appendFileSync(log, 'not json\n');
    await appendExperimentLog(entry(2, { note: 'a\nnewline inside' }), log);
    appendFileSync(log, '{"time":"2020-01-01","name":"half');
    const warnings: string[] = [];
    const prev = getConsoleSink();
    setConsoleSink({ write: (_l, _s, m) => void warnings.push(m) });
    try {
      const r = await readExperimentLog(log);
      expect(r.entries.map((e) => e.name)).toEqual(['n1', 'n2']);
      expect(r.entries[1]!.note).toBe('a\nnewline inside');
      expect(r.skipped.map((s) => s.line)).toEqual([2, 4]);
      expect(r.skipped[1]!.reason).toMatch(/torn/);
    } finally {
      setConsoleSink(prev);
    }
    expect(warnings.join('\n')).toMatch(/torn\.jsonl:4: the last line is torn/);
    expect(warnings.join('\n')).toMatch(/torn\.jsonl:2: unreadable line/);
    expect((await readExperimentLog(join(dir, 'none.jsonl'))).entries).toEqual([]);
  });

  it('breaks a lock left by a dead process, and waits for a live one (then says who holds it)', async () => {
    const log = join(dir, 'locked.jsonl');
    writeFileSync(`${log}.lock`, JSON.stringify({ pid: 999_999_999, host: hostname(), time: 0 }));
    const prev = getConsoleSink();
    setConsoleSink(null);
    try {
      await appendExperimentLog(entry(1), log);
    } finally {
      setConsoleSink(prev);
    }
    expect((await readExperimentLog(log)).entries).toHaveLength(1);
    expect(existsSync(`${log}.lock`)).toBe(false);
    writeFileSync(`${log}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), time: Date.now() }));
    const e = await appendExperimentLog(entry(2), log, { timeoutMs: 150 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(MedtrainError);
    expect((e as MedtrainError).message).toMatch(new RegExp(`locked[\\s\\S]*pid ${process.pid}`));
    rmSync(`${log}.lock`);
    expect((await readExperimentLog(log)).entries).toHaveLength(1);
  });
});
