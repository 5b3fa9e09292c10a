/**
 * Test fixtures without Python: Keras weight files written with h5wasm from a tfjs model, in the
 * legacy layout (as keras.applications' files and Keras 2's save_weights), the legacy whole-model
 * layout, or Keras 3's `.weights.h5` layout, and `.keras` archives (a stored zip).
 */
import * as tf from '@tensorflow/tfjs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { kerasSnakeCase } from '../../src/models/layers.js';

type H5 = typeof import('h5wasm')['default'];
type Group = InstanceType<H5['Group']>;
let lib: H5 | null = null;
async function h5(): Promise<H5> {
  if (!lib) {
    lib = (await import('h5wasm/node')).default;
    await lib.ready;
  }
  return lib;
}

/** Create a group and its missing parents. */
function ensureGroup(root: Group, path: string): Group {
  let g = root;
  for (const part of path.split('/').filter(Boolean)) g = g.keys().includes(part) ? (g.get(part) as Group) : g.create_group(part);
  return g;
}

function dataset(g: Group, path: string, data: Float32Array, shape: number[]): void {
  const i = path.lastIndexOf('/');
  const parent = i < 0 ? g : ensureGroup(g, path.slice(0, i));
  parent.create_dataset({ name: path.slice(i + 1), data, shape });
}

export interface LegacyOptions {
  /** 'weights': layer_names at the root (keras.applications); 'model': inside model_weights. */
  layout?: 'weights' | 'model';
  /** Rename layers (as another Keras version would have named them). */
  rename?: (name: string) => string;
  /** Reorder the file's layer list. */
  order?: (names: string[]) => string[];
  /** Change a weight before writing it. */
  transform?: (layer: string, weight: number, values: Float32Array, shape: number[]) => { values: Float32Array; shape: number[] };
  kerasVersion?: string;
}

/** Write a model's weights in Keras's legacy HDF5 layout. */
export async function writeLegacyH5(model: tf.LayersModel, path: string, opts: LegacyOptions = {}): Promise<void> {
  const { File } = await h5();
  mkdirSync(dirname(path), { recursive: true });
  const f = new File(path, 'w');
  try {
    const root = opts.layout === 'model' ? f.create_group('model_weights') : f;
    const rename = opts.rename ?? ((n: string) => n);
    const names = model.layers.map((l) => rename(l.name));
    root.create_attribute('layer_names', opts.order ? opts.order(names) : names);
    root.create_attribute('keras_version', opts.kerasVersion ?? '2.15.0');
    root.create_attribute('backend', 'tensorflow');
    for (const layer of model.layers) {
      const name = rename(layer.name);
      const g = ensureGroup(root, name);
      const weightNames = layer.weights.map((w) => `${name}/${w.originalName.split('/').pop()}:0`);
      g.create_attribute('weight_names', weightNames.length ? weightNames : new Float64Array(0));
      layer.weights.forEach((w, k) => {
        let values = w.read().dataSync() as Float32Array;
        let shape = w.shape as number[];
        if (opts.transform) ({ values, shape } = opts.transform(layer.name, k, values, shape));
        dataset(g, weightNames[k]!, values, shape);
      });
    }
  } finally {
    f.close();
  }
}

/** Write a model's weights in Keras 3's `.weights.h5` layout (layers/<class key>/vars/<i>). */
export async function writeKeras3Weights(model: tf.LayersModel, path: string): Promise<void> {
  const { File } = await h5();
  const KERAS: Record<string, string> = { KerasNormalization: 'Normalization', ChannelRescaling: 'Rescaling', SeededDropout: 'Dropout' };
  const f = new File(path, 'w');
  try {
    const counts = new Map<string, number>();
    ensureGroup(f, 'vars');
    for (const layer of model.layers) {
      const base = kerasSnakeCase(KERAS[layer.getClassName()] ?? layer.getClassName());
      const n = counts.get(base) ?? 0;
      counts.set(base, n + 1);
      const vars = ensureGroup(f, `layers/${n ? `${base}_${n}` : base}/vars`);
      vars.create_attribute('name', layer.name);
      layer.weights.forEach((w, k) => dataset(vars, String(k), w.read().dataSync() as Float32Array, w.shape as number[]));
    }
  } finally {
    f.close();
  }
}

/** A zip archive of stored entries (what Keras writes for `.keras`). */
export function writeZip(path: string, entries: Record<string, Uint8Array>): void {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const n = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, Buffer.from(data));
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  writeFileSync(path, Buffer.concat([...locals, dir, end]));
}

/** Every weight of a model, copied out (to compare before and after). */
export function snapshot(model: tf.LayersModel): Float32Array[] {
  return model.weights.map((w) => (w.read().dataSync() as Float32Array).slice());
}

export function sameWeights(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => x.length === b[i]!.length && x.every((v, j) => Object.is(v, b[i]![j])));
}
