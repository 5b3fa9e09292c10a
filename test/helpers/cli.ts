/**
 * Running a `medtrain` command as a child process (node --import tsx scripts/<command>.ts), the way a
 * user runs it, with its output, exit code or signal, and its one JSON object (--json).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const ROOT = join(import.meta.dirname, '..', '..');
/** tsx's loader and the checkout's tsconfig.json (its paths map 'medtrain' to src/), whatever the child's working folder. */
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout's one JSON object (--json), or null. */
  json: Record<string, any> | null;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with the child once it started (to watch it, signal it or kill it). */
  onSpawn?: (p: ReturnType<typeof spawn>) => void;
}

/** The environment a test's commands run in: quiet unless told, no data or engine from the developer's shell. */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, VITEST: '', MEDTRAIN_LOG_LEVEL: 'info', ...extra };
  delete e.MEDTRAIN_DATA;
  if (!('MEDTRAIN_ENGINE' in extra)) delete e.MEDTRAIN_ENGINE;
  if (!('MEDTRAIN_FAULT' in extra)) delete e.MEDTRAIN_FAULT;
  return e;
}

/** Run `medtrain <script> args` as a child of the repository's scripts/. */
export function runCli(script: string, args: string[], o: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...(o.env ?? testEnv()), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') };
    const p = spawn(process.execPath, ['--import', TSX, join(ROOT, 'scripts', `${script}.ts`), ...args], { cwd: o.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout!.on('data', (d) => (stdout += String(d)));
    p.stderr!.on('data', (d) => (stderr += String(d)));
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      const lines = stdout.trim().split('\n');
      const json = lines.length === 1 && lines[0]!.startsWith('{') ? (JSON.parse(lines[0]!) as Record<string, any>) : null;
      resolve({ code, signal, stdout, stderr, json });
    });
    o.onSpawn?.(p);
  });
}
