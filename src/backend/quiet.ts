/**
 * The native libraries behind the engines write to the process's stderr themselves, below Node:
 * libtensorflow logs "oneDNN custom operations are on" through absl as it loads, before anything can
 * configure it (TF_CPP_MIN_LOG_LEVEL does not reach those lines), and Dawn warns about limits it
 * lowers when it opens an adapter. While one of them loads, stderr (file descriptor 2) points at
 * /dev/null and is restored after; at log level debug nothing is muted. Node cannot duplicate a
 * descriptor, so the native engine's setup builds a small helper that can
 * (`<tfjs-node>/deps/medtrain-stdio.node`); without it, stderr is reopened through /proc where it is a
 * file, pipe or terminal (not a socket).
 *
 * Emscripten (the WASM engine) installs process handlers that rethrow an uncaught error from inside
 * its minified source, burying the user's own error; those handlers are removed once it has started.
 */
import { closeSync, existsSync, openSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getLogLevel } from '../util/logger.js';

const require = createRequire(import.meta.url);

interface StdioHelper {
  mute(): number;
  restore(saved: number): void;
}

/** The helper the native engine's setup builds, when there is one. */
const helper: StdioHelper | null = (() => {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      const file = join(dirname(require.resolve(`${pkg}/package.json`)), 'deps', 'medtrain-stdio.node');
      if (existsSync(file)) return require(file) as StdioHelper;
    } catch {
      // not installed, or the helper does not load: try the next
    }
  }
  return null;
})();

type Muted = { helper: number } | { proc: number } | null;

function mute(): Muted {
  if (getLogLevel() === 'debug' || process.platform !== 'linux') return null;
  if (helper) return { helper: helper.mute() };
  try {
    const saved = openSync('/proc/self/fd/2', 'a'); // the same file, pipe or terminal as stderr
    closeSync(2);
    openSync('/dev/null', 'a'); // takes descriptor 2, the lowest free one
    return { proc: saved };
  } catch {
    return null;
  }
}

function unmute(m: Muted): void {
  if (m === null) return;
  if ('helper' in m) return helper!.restore(m.helper);
  closeSync(2);
  openSync(`/proc/self/fd/${m.proc}`, 'a'); // descriptor 2 again
  closeSync(m.proc);
}

/** Run `fn` (loading a native library) with the process's stderr muted. */
export function withNativeOutputMuted<T>(fn: () => T): T {
  const saved = mute();
  try {
    return fn();
  } finally {
    unmute(saved);
  }
}

/** The same for an asynchronous start (an adapter request): keep it to startup, where nothing else writes. */
export async function withNativeOutputMutedAsync<T>(fn: () => Promise<T>): Promise<T> {
  const saved = mute();
  try {
    return await fn();
  } finally {
    unmute(saved);
  }
}

/** Run `fn` and remove the process 'uncaughtException' and 'unhandledRejection' handlers it installed. */
export async function withoutNewProcessHandlers<T>(fn: () => Promise<T>): Promise<T> {
  const listeners = (e: string) => process.listeners(e as 'uncaughtException') as ((...a: unknown[]) => void)[];
  const events = ['uncaughtException', 'unhandledRejection'];
  const before = new Map(events.map((e) => [e, new Set(listeners(e))]));
  try {
    return await fn();
  } finally {
    for (const e of events) for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
}

/**
 * Whether this machine shows a GPU device to user space (NVIDIA, DRM render nodes, WSL's dxg): without
 * one, WebGPU can only offer a software adapter, which `auto` never picks over WASM.
 */
export function gpuDevicePresent(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (existsSync('/dev/nvidia0') || existsSync('/dev/dxg')) return true;
    return readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  } catch {
    return false;
  }
}
