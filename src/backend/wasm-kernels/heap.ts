/**
 * Direct access to the WASM engine's heap and kernels, for kernels built out of other kernels.
 *
 * Every tensor of the WASM engine lives in one WebAssembly memory. A kernel here allocates its
 * intermediates there (alloc), moves data with plain typed-array copies (fast memmove; the stock
 * Slice/Transpose/DepthToSpace kernels are one to two orders of magnitude slower), runs the
 * engine's own fast kernels (XNNPACK convolutions and matrix products) on them by calling their
 * kernel functions directly, and frees every intermediate before it returns.
 *
 * Views onto the heap go stale when the memory grows (any allocation may grow it): take them with
 * `heap()` after the last allocation of a phase, never keep one across `alloc` or `run`.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

type TensorInfo = tf.TensorInfo;

interface WasmTensorData {
  id: number;
  memoryOffset: number;
  refCount: number;
}

interface WasmInternals {
  wasm: { HEAPU8: Uint8Array; wasmMemory?: { buffer: ArrayBufferLike }; tfjs: { disposeData(id: number): void } };
  dataIdMap: { get(dataId: object): WasmTensorData | undefined; delete(dataId: object): boolean };
}

const kernelCache = new Map<string, tf.KernelFunc>();

/** The wasm engine's own kernel function for `name` (throws if it has none). */
export function wasmKernel(name: string): tf.KernelFunc {
  let fn = kernelCache.get(name);
  if (!fn) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) throw new Error(`the wasm engine has no kernel ${name}`);
    fn = k.kernelFunc;
    kernelCache.set(name, fn);
  }
  return fn;
}

export class WasmHeap {
  private readonly internals: WasmInternals;

  constructor(readonly backend: BackendWasm) {
    this.internals = backend as unknown as WasmInternals;
  }

  /** A float32 view of the whole heap; stale after the next allocation. */
  heap(): Float32Array {
    // The threaded build's memory is shared and may have been grown by another thread, after which
    // only the memory object (not the module's HEAPU8) sees its full size.
    const { wasmMemory, HEAPU8 } = this.internals.wasm;
    return new Float32Array((wasmMemory ?? HEAPU8).buffer);
  }

  /** Where a tensor's data starts, in float32 elements from the start of the heap. */
  offset(t: TensorInfo): number {
    const d = this.internals.dataIdMap.get(t.dataId);
    if (!d) throw new Error('tensor data is not on the wasm heap');
    return d.memoryOffset / 4;
  }

  /** A fresh float32 tensor; its contents are undefined (not zeroed). */
  alloc(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  free(...ts: (TensorInfo | null | undefined)[]): void {
    for (const t of ts) if (t) this.backend.disposeData(t.dataId);
  }

  /**
   * A tensor that shares `shape`'s worth of memory starting `elemOffset` floats into `base`, without
   * copying. The caller keeps every read inside memory it owns and releases it with `release`.
   */
  alias(base: TensorInfo, elemOffset: number, shape: number[]): TensorInfo {
    const byteOffset = (this.offset(base) + elemOffset) * 4;
    return this.backend.makeOutput(shape, 'float32', byteOffset);
  }

  /** Forget an alias: unregister it (dropping XNNPACK operators cached on it) without freeing memory. */
  release(t: TensorInfo): void {
    const d = this.internals.dataIdMap.get(t.dataId);
    if (!d) return;
    this.internals.wasm.tfjs.disposeData(d.id);
    this.internals.dataIdMap.delete(t.dataId);
  }

  /** Run one of the engine's kernels on heap tensors; the caller frees the result. */
  run(name: string, inputs: Record<string, TensorInfo>, attrs: Record<string, unknown> = {}): TensorInfo {
    return wasmKernel(name)({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
  }

  /** The same data under another shape (no copy; `t` stays the owner). */
  static reshaped(t: TensorInfo, shape: number[]): TensorInfo {
    return { dataId: t.dataId, shape, dtype: t.dtype };
  }
}

/** Copy `len` floats inside the heap from `src` to `dst` (offsets in floats). */
export function copyRun(h: Float32Array, dst: number, src: number, len: number): void {
  if (len >= 16) {
    h.copyWithin(dst, src, src + len);
  } else {
    for (let i = 0; i < len; i++) h[dst + i] = h[src + i]!;
  }
}
