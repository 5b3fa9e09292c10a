/**
 * Training kernels the stock WASM engine lacks (or runs slowly), registered under backendName
 * 'wasm'. Each is built from the engine's own fast XNNPACK kernels (Conv2D,
 * DepthwiseConv2dNative, BatchMatMul) plus typed-array copies on its heap; see heap.ts.
 *
 * - Conv2DBackpropInput (replaces the stock one, ~10x slower than the forward convolution)
 * - Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput, DepthwiseConv2dNativeBackpropFilter
 *   (absent from the stock engine)
 * - MaxPoolGrad (replaces the stock one, which routes the gradient of windows <= 0 wrongly)
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { WasmHeap } from './heap.js';
import { convGeometry, type ConvAttrs } from './geometry.js';
import { convInputGradient } from './backprop-input.js';
import { convFilterGradient, depthwiseFilterGradient } from './backprop-filter.js';
import { maxPoolGradient, type PoolAttrs } from './max-pool-grad.js';

type GradAttrs = ConvAttrs & { inputShape?: number[]; filterShape?: number[] };

/** A gradient kernel of a convolution: of its input (inputs dy, filter) or of its filter (inputs x, dy). */
function gradientKernel(kernelName: string, depthwise: boolean, wrt: 'input' | 'filter'): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as GradAttrs;
      const h = new WasmHeap(backend as BackendWasm);
      if (wrt === 'input') {
        const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
        return convInputGradient(h, dy, filter, convGeometry(a.inputShape!, filter.shape, a, depthwise, kernelName), depthwise);
      }
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const g = convGeometry(x.shape, a.filterShape!, a, depthwise, kernelName);
      return depthwise ? depthwiseFilterGradient(h, x, dy, g) : convFilterGradient(h, x, dy, g);
    },
  };
}

const KERNELS: tf.KernelConfig[] = [
  gradientKernel('Conv2DBackpropInput', false, 'input'),
  gradientKernel('Conv2DBackpropFilter', false, 'filter'),
  gradientKernel('DepthwiseConv2dNativeBackpropInput', true, 'input'),
  gradientKernel('DepthwiseConv2dNativeBackpropFilter', true, 'filter'),
  {
    kernelName: 'MaxPoolGrad',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      return maxPoolGradient(new WasmHeap(backend as BackendWasm), dy, input, attrs as unknown as PoolAttrs);
    },
  },
];

const stock = new Map<string, tf.KernelConfig>();
let registered = false;

/**
 * Register the training kernels for the 'wasm' backend (idempotent). Call after importing
 * @tensorflow/tfjs-backend-wasm, before the engine runs a gradient.
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  for (const k of KERNELS) {
    const existing = tf.getKernel(k.kernelName, 'wasm');
    if (existing) {
      stock.set(k.kernelName, setUpOnFirstCall(existing));
      tf.unregisterKernel(k.kernelName, 'wasm');
    }
    tf.registerKernel(k);
  }
  registered = true;
}

/**
 * A replaced kernel never gets its setup (binding its WASM function) from the engine, which only
 * sets up registered kernels when the backend starts: run it on first use, once per backend.
 */
function setUpOnFirstCall(config: tf.KernelConfig): tf.KernelConfig {
  const done = new WeakSet<object>();
  return {
    ...config,
    kernelFunc: (args) => {
      if (config.setupFunc && !done.has(args.backend)) {
        config.setupFunc(args.backend);
        done.add(args.backend);
      }
      return config.kernelFunc(args);
    },
  };
}

/** The stock engine's kernel that `registerWasmTrainingKernels` replaced, if any (for comparisons). */
export function stockWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return stock.get(kernelName);
}
