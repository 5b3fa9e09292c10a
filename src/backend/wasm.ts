/**
 * The WebAssembly engine. Stock tfjs-backend-wasm cannot train convolutional networks (it lacks
 * Conv2DBackpropFilter and the depthwise gradients, and its Conv2DBackpropInput is slow); the
 * kernels in ./wasm-kernels fill those gaps and are registered before the engine is used.
 */
import * as tf from '@tensorflow/tfjs';
import { registerWasmTrainingKernels } from './wasm-kernels/index.js';

let imported = false;

export async function initWasm(opts: { activate: boolean }): Promise<{ simd: boolean }> {
  if (!imported) {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
    imported = true;
  }
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  if (opts.activate) {
    const ok = await tf.setBackend('wasm');
    if (!ok) throw new Error('the wasm engine failed to start');
  }
  return { simd };
}
