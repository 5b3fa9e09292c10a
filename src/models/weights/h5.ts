/**
 * Reading Keras weight files (HDF5) with h5wasm, into one neutral description: the layers that hold
 * weights, each with its weights' names and shapes, and a reader for each weight's values.
 *
 * The three layouts Keras users have:
 *  - 'keras-h5': weights only, the legacy layout of keras.applications' published files and of Keras 2's
 *    `save_weights('x.h5')`: root attribute `layer_names`; one group per layer whose `weight_names`
 *    attribute lists its datasets in order.
 *  - 'keras-h5-model': a whole-model save in the legacy format (`model.save('x.h5')`, Keras 2 and 3):
 *    the same layout inside a `model_weights` group.
 *  - 'keras3-weights': Keras 3's `save_weights('x.weights.h5')` (also inside a `.keras` archive):
 *    `layers/<class key>/vars/<i>`, keyed by the snake-cased class name with a per-class counter
 *    (`conv2d`, `conv2d_1`, ...) and the layer's own name in the `vars` group's `name` attribute;
 *    nested models nest as `layers/<key>/layers/...`.
 *
 * A model nested inside a legacy file (a backbone used as one layer) is one group whose weight names
 * belong to many layers; it is split back into those layers by the weight names' prefixes.
 */
import { createRequire } from 'node:module';
import { promises as fsp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MedtrainError } from '../../util/errors.js';
import { readZipEntry } from './zip.js';

const require = createRequire(import.meta.url);

export type KerasWeightsFormat = 'keras-h5' | 'keras-h5-model' | 'keras3-weights';

export interface H5Weight {
  /** The weight's name in the file (legacy: its `weight_names` entry; Keras 3: its index). */
  name: string;
  shape: number[];
  /** The values as float32 (float64 and integer datasets are converted). Throws a MedtrainError on a read failure. */
  read(): Float32Array;
}

export interface H5Layer {
  /** The layer's name as saved. */
  name: string;
  /** Its group in the file. */
  path: string;
  /** Keras 3 only: the structural key Keras 3 loads by (`conv2d_3`), and the container it is in. */
  key?: string;
  container?: string;
  weights: H5Weight[];
}

export interface KerasWeightsFile {
  path: string;
  format: KerasWeightsFormat;
  kerasVersion: string | null;
  backend: string | null;
  /** Layers with weights. Legacy formats: in file order. Keras 3: containers in order (nested ones first), each by key. */
  layers: H5Layer[];
  /** Keras 3: the containers, in the order their layers come in `layers` (the top-level one is ''). */
  containers: string[];
}

type H5Module = typeof import('h5wasm');
type H5Group = InstanceType<H5Module['Group']>;
type H5File = InstanceType<H5Module['File']>;
type H5Dataset = InstanceType<H5Module['Dataset']>;

let h5: Promise<H5Module['default']> | null = null;
async function h5wasm(): Promise<H5Module['default']> {
  h5 ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5;
}

/**
 * Run an h5wasm call with the HDF5 library's diagnostics (which it writes straight to file descriptor
 * 2) captured instead of printed, and returned for our own error message.
 */
function withDiagnostics<T>(fn: () => T): { value?: T; error?: unknown; diagnostics: string } {
  const fs = require('node:fs') as typeof import('node:fs');
  const original = fs.writeSync;
  let text = '';
  fs.writeSync = function (this: unknown, fd: number, buffer: any, ...rest: any[]) {
    if (fd === 2 && ArrayBuffer.isView(buffer)) {
      const offset = typeof rest[0] === 'number' ? rest[0] : 0;
      const length = typeof rest[1] === 'number' ? rest[1] : buffer.byteLength - offset;
      text += Buffer.from(buffer.buffer, buffer.byteOffset + offset, length).toString('utf8');
      return length;
    }
    return (original as (...a: unknown[]) => number).call(fs, fd, buffer, ...rest);
  } as typeof fs.writeSync;
  try {
    return { value: fn(), diagnostics: text };
  } catch (error) {
    return { error, diagnostics: text };
  } finally {
    fs.writeSync = original;
  }
}

/** The most specific line of an HDF5 error stack, e.g. 'truncated file: eof = 10000, ..., stored_eof = 27408'. */
function hdf5Reason(diagnostics: string): string | null {
  const lines = diagnostics.split('\n').filter((l) => /^\s*#\d+:/.test(l));
  const last = lines[lines.length - 1];
  return last ? last.replace(/^.*?\(\):\s*/, '').trim() : null;
}

function corrupt(path: string, what: string, detail: string | null, cause?: unknown): MedtrainError {
  const truncated = detail && /truncated file: eof = (\d+).*stored_eof = (\d+)/.exec(detail);
  const message = truncated
    ? `the weight file is truncated: it has ${truncated[1]} of its ${truncated[2]} bytes`
    : detail && /signature not found/.test(detail)
      ? 'not an HDF5 file (no HDF5 signature): not a Keras weight file'
      : `cannot read the weight file (${what}${detail ? `: ${detail}` : ''})`;
  return new MedtrainError(message, {
    code: 'bad-weights-file',
    file: path,
    hint: 'the file is incomplete or damaged: download or save it again (a Keras .h5, .weights.h5 or .keras file)',
    ...(cause !== undefined && { cause }),
  });
}

/** An attribute as a list of strings; Keras splits long ones into `name0`, `name1`, ... */
function stringListAttr(g: H5Group, name: string): string[] | null {
  const attrs = g.attrs;
  const parts: unknown[] = [];
  if (attrs[name]) parts.push(attrs[name]!.value);
  else for (let i = 0; attrs[`${name}${i}`]; i++) parts.push(attrs[`${name}${i}`]!.value);
  if (!parts.length) return null;
  const out: string[] = [];
  const add = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (v instanceof Uint8Array) out.push(Buffer.from(v).toString('utf8').replace(/\0+$/, ''));
    else if (Array.isArray(v)) v.forEach(add);
    // An empty list is saved as an empty float array.
  };
  parts.forEach(add);
  return out;
}

function stringAttr(g: H5Group, name: string): string | null {
  const v = g.attrs[name]?.value;
  return typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : null;
}

function readDataset(path: string, d: H5Dataset, where: string): Float32Array {
  const r = withDiagnostics(() => {
    const meta = d.metadata;
    if (meta.type !== 0 && meta.type !== 1) throw new Error(`unsupported data type (HDF5 class ${meta.type})`);
    if (meta.type === 1 && meta.size !== 4 && meta.size !== 8) throw new Error(`float${meta.size * 8} weights are not supported; save them as float32`);
    return d.value;
  });
  const v = r.value;
  if (r.error !== undefined || v === null || v === undefined) throw corrupt(path, `dataset ${where}`, hdf5Reason(r.diagnostics) ?? (r.error ? String((r.error as Error).message ?? r.error) : null), r.error);
  const expected = (d.shape ?? []).reduce((a, b) => a * b, 1);
  let out: Float32Array;
  if (v instanceof Float32Array) out = v;
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView)) out = Float32Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  else if (typeof v === 'number' || typeof v === 'bigint') out = Float32Array.of(Number(v));
  else throw corrupt(path, `dataset ${where}`, `unexpected value type ${typeof v}`);
  if (out.length !== expected) throw corrupt(path, `dataset ${where}`, `${out.length} values for shape [${d.shape}]`);
  return out;
}

function weightOf(path: string, d: H5Dataset, name: string, where: string): H5Weight {
  return { name, shape: [...(d.shape ?? [])], read: () => readDataset(path, d, where) };
}

/** Owner layer of a legacy weight name: 'conv1_conv/kernel:0' → 'conv1_conv'; 'kernel' → ''. */
function ownerOf(weightName: string): string {
  const clean = weightName.replace(/:\d+$/, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? '' : clean.slice(0, i);
}

function readLegacy(path: string, root: H5Group): H5Layer[] {
  const names = stringListAttr(root, 'layer_names');
  if (!names) throw corrupt(path, 'its layer list', `no 'layer_names' attribute in ${root.path}`);
  const layers: H5Layer[] = [];
  for (const name of names) {
    const g = root.get(name);
    if (!g || !('keys' in g)) throw corrupt(path, `layer '${name}'`, `its group is missing`);
    const group = g as H5Group;
    const weightNames = stringListAttr(group, 'weight_names') ?? [];
    if (!weightNames.length) continue;
    const weights = weightNames.map((wn) => {
      const d = group.get(wn);
      if (!d || !('metadata' in d) || !('shape' in d)) throw corrupt(path, `layer '${name}'`, `weight '${wn}' is missing`);
      return weightOf(path, d as H5Dataset, wn, `${group.path}/${wn}`);
    });
    // A nested model saved as one layer: split its weights back into their layers by name prefix.
    const owners = [...new Set(weights.map((w) => ownerOf(w.name)))];
    if (owners.length > 1) {
      for (const owner of owners) {
        const own = weights.filter((w) => ownerOf(w.name) === owner);
        const sub = owner.startsWith(`${name}/`) ? owner.slice(name.length + 1) : owner;
        layers.push({ name: sub, path: `${group.path}`, weights: own });
      }
    } else {
      layers.push({ name, path: group.path, weights });
    }
  }
  return layers;
}

/** Keras 3 layout: walk `layers/` containers; nested containers first, then the container's own layers. */
function readKeras3(path: string, root: H5Group): { layers: H5Layer[]; containers: string[] } {
  const layers: H5Layer[] = [];
  const containers: string[] = [];
  const walk = (container: H5Group, prefix: string) => {
    const lg = container.get('layers') as H5Group | null;
    if (!lg || !('keys' in lg)) return;
    const keys = lg.keys().sort();
    const nested = keys.filter((k) => {
      const e = lg.get(k) as H5Group | null;
      return e && 'keys' in e && e.keys().includes('layers');
    });
    for (const k of nested) walk(lg.get(k) as H5Group, prefix ? `${prefix}/${k}` : k);
    containers.push(prefix);
    for (const key of keys) {
      if (nested.includes(key)) continue;
      const vars = lg.get(`${key}/vars`) as H5Group | null;
      if (!vars || !('keys' in vars)) continue;
      const idx = vars
        .keys()
        .filter((k) => /^\d+$/.test(k))
        .sort((a, b) => Number(a) - Number(b));
      if (!idx.length) continue;
      const weights = idx.map((i) => {
        const d = vars.get(i) as H5Dataset;
        return weightOf(path, d, i, `${vars.path}/${i}`);
      });
      layers.push({ name: stringAttr(vars, 'name') ?? key, path: vars.path, key, container: prefix, weights });
    }
  };
  walk(root, '');
  return { layers, containers };
}

export interface OpenedWeights extends KerasWeightsFile {
  close(): void;
}

/**
 * Open a Keras weight file and describe its layers. The file stays open (weights are read on demand)
 * until `close()`. A missing, garbage or truncated file, or one of no Keras layout, is a MedtrainError.
 */
export async function openKerasWeights(path: string): Promise<OpenedWeights> {
  let size: number;
  try {
    size = (await fsp.stat(path)).size;
  } catch (e) {
    throw new MedtrainError('weight file not found', { code: 'weights-not-found', file: path, hint: 'check the path', cause: e });
  }
  if (size === 0) throw corrupt(path, 'empty file', null);
  if (path.toLowerCase().endsWith('.keras')) return openKerasArchive(path);
  return openH5(path, path);
}

/** Open `file`, naming it `shownAs` in errors and in the description. */
async function openH5(file: string, shownAs: string): Promise<OpenedWeights> {
  const lib = await h5wasm();
  const opened = withDiagnostics(() => new lib.File(file, 'r'));
  const f = opened.value as H5File | undefined;
  if (!f || opened.error !== undefined || Number(f.file_id) < 0) throw corrupt(shownAs, 'opening it', hdf5Reason(opened.diagnostics), opened.error);
  const described = withDiagnostics(() => describe(shownAs, f));
  if (described.error !== undefined) {
    withDiagnostics(() => f.close());
    if (described.error instanceof MedtrainError) throw described.error;
    throw corrupt(shownAs, 'its structure', hdf5Reason(described.diagnostics) ?? String((described.error as Error)?.message ?? described.error), described.error);
  }
  return { ...described.value!, close: () => void withDiagnostics(() => f.close()) };
}

function describe(path: string, f: H5File): KerasWeightsFile {
  const keys = f.keys();
  const mw = keys.includes('model_weights') ? (f.get('model_weights') as H5Group) : null;
  let format: KerasWeightsFormat;
  let layers: H5Layer[];
  let containers: string[] = [''];
  let meta: H5Group = f;
  if (mw) {
    format = 'keras-h5-model';
    meta = mw;
    layers = readLegacy(path, mw);
  } else if (stringListAttr(f, 'layer_names')) {
    format = 'keras-h5';
    layers = readLegacy(path, f);
  } else if (keys.includes('layers')) {
    format = 'keras3-weights';
    ({ layers, containers } = readKeras3(path, f));
  } else {
    throw new MedtrainError('an HDF5 file, but not a Keras weight file (no layer_names, model_weights or layers/)', {
      code: 'bad-weights-file',
      file: path,
      value: keys.slice(0, 10),
      hint: 'pass a Keras weight file: keras.applications weights, model.save("x.h5"), save_weights("x.weights.h5") or a .keras archive',
    });
  }
  return { path, format, kerasVersion: stringAttr(meta, 'keras_version') ?? stringAttr(f, 'keras_version'), backend: stringAttr(meta, 'backend') ?? stringAttr(f, 'backend'), layers, containers };
}

/**
 * A Keras 3 `.keras` archive (a zip of config.json, metadata.json and model.weights.h5): extract the
 * weights to a temporary file and open that.
 */
async function openKerasArchive(path: string): Promise<OpenedWeights> {
  let bytes: Uint8Array;
  try {
    bytes = await readZipEntry(path, 'model.weights.h5');
  } catch (e) {
    throw new MedtrainError(`cannot read the .keras archive: ${(e as Error).message}`, {
      code: 'bad-weights-file',
      file: path,
      hint: 'the file is incomplete or damaged: save it again with model.save("x.keras")',
      cause: e,
    });
  }
  const dir = await fsp.mkdtemp(join(tmpdir(), 'medtrain-keras-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    const tmp = join(dir, 'model.weights.h5');
    await fsp.writeFile(tmp, bytes);
    const inner = await openH5(tmp, path);
    return {
      ...inner,
      close: () => {
        inner.close();
        removeDir();
      },
    };
  } catch (e) {
    removeDir();
    throw e;
  }
}
