/**
 * Training kernels the stock WASM engine lacks, registered under backendName 'wasm'.
 */
export function registerWasmTrainingKernels(): void {
  // Filled in by the WASM kernel work (Conv2DBackpropFilter, depthwise gradients, fast Conv2DBackpropInput).
}
