/**
 * Finding Keras's ImageNet weight files on this machine. medtrain never downloads: it looks in the
 * weights folder (MEDTRAIN_WEIGHTS_DIR, default $XDG_CACHE_HOME/medtrain/weights or
 * ~/.cache/medtrain/weights) and in Keras's own cache ($KERAS_HOME/models, default ~/.keras/models,
 * where Keras users already have them), and when the file is in neither it says which file to put
 * where and the address Keras publishes it at. A file whose MD5 differs from the one Keras records
 * is refused (a partial download or another file under the same name).
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import type { ModelSpec, WeightFileRef } from '../registry.js';

/** The weights folder: `dir`, else MEDTRAIN_WEIGHTS_DIR, else the user's cache. */
export function weightsDir(dir?: string): string {
  if (dir) return dir;
  if (process.env.MEDTRAIN_WEIGHTS_DIR) return process.env.MEDTRAIN_WEIGHTS_DIR;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'medtrain', 'weights');
}

/** Keras's download cache, where `keras.applications` keeps the files it fetched. */
export function kerasCacheDir(): string {
  return join(process.env.KERAS_HOME || join(homedir(), '.keras'), 'models');
}

/** MD5s already computed in this process, by path, for the file's size and modification time. */
const md5Seen = new Map<string, { size: number; mtimeMs: number; md5: string }>();

/** A file's MD5, read once per process while the file is unchanged (a run looks its weights up twice). */
async function md5Of(path: string): Promise<string> {
  const { size, mtimeMs } = await fsp.stat(path);
  const seen = md5Seen.get(path);
  if (seen && seen.size === size && seen.mtimeMs === mtimeMs) return seen.md5;
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const md5 = hash.digest('hex');
  md5Seen.set(path, { size, mtimeMs, md5 });
  return md5;
}

export interface ImagenetWeights {
  path: string;
  ref: WeightFileRef;
}

/**
 * The path of a model's ImageNet weight file on this machine, checked against Keras's MD5.
 * Missing: a MedtrainError naming the file, the folder to put it in and its address.
 */
export async function findImagenetWeights(spec: ModelSpec, opts: { inputSize: number; includeTop?: boolean; dir?: string }): Promise<ImagenetWeights> {
  if (!spec.imagenetWeights) {
    throw new MedtrainError(`${spec.name} has no ImageNet weights`, { code: 'no-imagenet-weights', value: spec.name, hint: "train it from random weights (weights: null), or load a weight file of your own" });
  }
  const ref = spec.imagenetWeights({ inputSize: opts.inputSize, includeTop: Boolean(opts.includeTop) });
  const dir = weightsDir(opts.dir);
  const places = [dir, kerasCacheDir()];
  for (const place of places) {
    const path = join(place, ref.file);
    try {
      await fsp.access(path);
    } catch {
      continue;
    }
    if (ref.md5) {
      const md5 = await md5Of(path);
      if (md5 !== ref.md5) {
        throw new MedtrainError(`the ImageNet weight file for ${spec.name} is damaged or not Keras's (MD5 ${md5}, Keras publishes ${ref.md5})`, {
          code: 'bad-weights-file',
          file: path,
          hint: `download it again from ${ref.url}`,
        });
      }
    }
    return { path, ref };
  }
  throw new MedtrainError(`ImageNet weights for ${spec.name} are not on this machine: put ${ref.file} in ${dir}`, {
    code: 'weights-missing',
    file: join(dir, ref.file),
    hint:
      `Keras publishes it at ${ref.url} (on a machine with internet: curl -L --create-dirs -o '${join(dir, ref.file)}' '${ref.url}'). ` +
      `medtrain also finds it in Keras's cache (${kerasCacheDir()}); set MEDTRAIN_WEIGHTS_DIR to use another folder. medtrain never downloads by itself`,
  });
}
