/**
 * What the harnesses that time contenders side by side share (run.ts skips files named _*).
 *
 * A contender (a medtrain engine or a peer framework) runs in a child process of its own and speaks
 * JSON lines: after it is built and warmed up it prints one object (`{ready: true, ...}` or
 * `{error}`); then it answers each line written to its stdin with one object; it exits at the end of
 * its stdin. Lines that are not JSON objects (a library's chatter) are skipped.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { MedtrainError } from '../src/util/errors.js';

export class Contender {
  private readonly lines: AsyncIterator<string>;
  private stderr = '';

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    this.lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    proc.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  /** Start `cmd args` as a contender (of the class it is called on). */
  static start<T extends Contender>(this: new (name: string, proc: ChildProcess) => T, name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): T {
    return new this(name, spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', PYTHONUNBUFFERED: '1', ...env } }));
  }

  /** The next JSON line the process prints; an error when it exits first. */
  async read(): Promise<Record<string, unknown>> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`exited: ${this.stderr.trim().split('\n').slice(-3).join(' | ')}`.slice(0, 600));
      if (r.value.startsWith('{')) return JSON.parse(r.value) as Record<string, unknown>;
    }
  }

  /** Write one line and read the answer; an answer with `error` throws it. */
  async request(line: string): Promise<Record<string, unknown>> {
    this.proc.stdin!.write(`${line}\n`);
    const r = await this.read();
    if (r.error) throw new Error(String(r.error));
    return r;
  }

  close(): void {
    this.proc.stdin!.end();
  }

  /** Resolves when the process has exited. */
  exited(): Promise<void> {
    return this.proc.exitCode !== null || this.proc.signalCode !== null ? Promise.resolve() : new Promise((r) => this.proc.once('exit', () => r()));
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A comma-separated flag of names, each one of `known` ('none': no names). */
export function listFlag(flag: string, value: string, known: readonly string[]): string[] {
  const items = value === 'none' ? [] : value.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = items.find((i) => !known.includes(i));
  if (bad) throw new MedtrainError(`unknown name in --${flag}`, { code: 'bad-flag', column: `--${flag}`, value: bad, hint: `use ${known.join(', ')}` });
  return items;
}

export interface DenseNetLayout {
  blocks: [number, number, number, number];
  growthRate: number;
  stemFilters: number;
}

const DENSENETS: Record<string, DenseNetLayout> = {
  densenetmini: { blocks: [2, 2, 2, 2], growthRate: 32, stemFilters: 64 },
  densenet121: { blocks: [6, 12, 24, 16], growthRate: 32, stemFilters: 64 },
  densenet169: { blocks: [6, 12, 32, 32], growthRate: 32, stemFilters: 64 },
  densenet201: { blocks: [6, 12, 48, 32], growthRate: 32, stemFilters: 64 },
};

/** The layout of a DenseNet medtrain and torchvision both build (the peers' models). */
export function layoutOf(model: string): DenseNetLayout {
  const l = DENSENETS[model.toLowerCase().replace(/[-_\s]/g, '')];
  if (!l) throw new MedtrainError('the PyTorch peer builds DenseNets only (the layout medtrain builds)', { code: 'bad-flag', column: '--model', value: model, hint: 'use DenseNetMini, DenseNet121, DenseNet169 or DenseNet201' });
  return l;
}

/** `npm run -s <args> --json` as a user runs it: its wall time and the last JSON line it printed. */
export function medtrainJson(args: string[]): { seconds: number; json: Record<string, any> } {
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '-s', ...args, '--json'], { encoding: 'utf8', env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'warn' } });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`npm run ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  return { seconds, json: JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, any> };
}
