/**
 * Writes that never leave half a file: write a temporary file beside the target, flush it, then
 * rename it over the target (rename is atomic within one file system). Folders (checkpoints) are
 * written the same way: fill a temporary folder, then rename it into place.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, constants as fsc, openSync, writeSync, fsyncSync, closeSync, renameSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { MedtrainError } from './errors.js';
import { faultPoint } from './faults.js';

function tempName(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The data in a flushed temporary file beside `path` (its folder made when missing); returns the temporary's name. */
async function writeTemporary(path: string, data: string | Uint8Array): Promise<string> {
  faultPoint(`before:${basename(path)}`);
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return tmp;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemporary(path, data);
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  faultPoint(`after:${basename(path)}`);
}

export function writeFileAtomicSync(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempName(path);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Create a file that must not exist yet, atomically: the content is written to a temporary file and
 * linked into place, which fails (EEXIST) when the file exists, so of two writers only one succeeds.
 * Returns false when the file was already there (nothing is written then).
 */
export async function createFileExclusive(path: string, data: string | Uint8Array): Promise<boolean> {
  const tmp = await writeTemporary(path, data);
  try {
    await fsp.link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  faultPoint(`after:${basename(path)}`);
  return true;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Fill a folder atomically: `fill` writes into a fresh temporary folder, which then replaces
 * `path`. If `path` exists it is moved aside first and removed only after the new one is in place.
 */
export async function writeDirAtomic(path: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await fsp.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  await fsp.mkdir(tmp);
  try {
    await fill(tmp);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  faultPoint(`fill:${basename(path)}`);
  let old: string | null = null;
  if (await exists(path)) {
    old = tempName(`${path}.old`);
    await fsp.rename(path, old);
  }
  await fsp.rename(tmp, path);
  if (old) await fsp.rm(old, { recursive: true, force: true });
  faultPoint(`after:${basename(path)}`);
}

/**
 * Append one line to a file with a single O_APPEND write, so concurrent writers never interleave
 * within a line (POSIX appends of one write() land whole on local file systems).
 */
export async function appendLine(path: string, line: string): Promise<void> {
  if (line.includes('\n')) throw new Error('appendLine: the line must not contain a newline');
  faultPoint(`before:${basename(path)}`);
  await fsp.mkdir(dirname(path), { recursive: true });
  const bytes = Buffer.from(`${line}\n`);
  const fh = await fsp.open(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o644);
  try {
    // One write; a short write (disk full, a signal) is continued rather than left as half a line.
    let done = 0;
    while (done < bytes.length) done += (await fh.write(bytes, done)).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
  faultPoint(`after:${basename(path)}`);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.access(path);
    return true;
  } catch {
    return false;
  }
}

/** Make sure a folder exists and is writable, or say so clearly. */
export async function ensureWritableDir(path: string, what = 'output folder'): Promise<void> {
  try {
    await fsp.mkdir(path, { recursive: true });
    await fsp.access(path, fsc.W_OK);
  } catch (e) {
    throw new MedtrainError(`cannot write to the ${what}`, {
      code: 'unwritable',
      file: path,
      hint: `choose a folder you can write to, or fix its permissions (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
      cause: e,
    });
  }
}
