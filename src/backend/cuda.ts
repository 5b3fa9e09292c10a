/**
 * Which CUDA libraries the GPU build of the native engine (tfjs-node-gpu) can load. libtensorflow
 * opens them at run time and, missing one, runs on the CPU; doctor names what it finds and what it
 * misses. They come from pip's nvidia-* packages (`pip install 'tensorflow[and-cuda]'`; the setup links
 * them as `<tfjs-node-gpu>/deps/nvidia`), LD_LIBRARY_PATH, or a CUDA toolkit in /usr/local/cuda.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/** The libraries TensorFlow 2.21's GPU kernels open (CUDA 12, cuDNN 9), by soname. */
export const CUDA_LIBRARIES = ['libcudart.so.12', 'libcublas.so.12', 'libcublasLt.so.12', 'libcufft.so.11', 'libcusolver.so.11', 'libcusparse.so.12', 'libcudnn.so.9', 'libnccl.so.2'] as const;

export interface CudaLibraries {
  /** soname → the folder it was found in. */
  found: Record<string, string>;
  missing: string[];
  /** The folders searched, in order. */
  searched: string[];
}

function subdirsLib(root: string): string[] {
  try {
    return readdirSync(root).map((d) => join(root, d, 'lib'));
  } catch {
    return [];
  }
}

/** The CUDA libraries the GPU engine can find here, or null when tfjs-node-gpu is not installed. */
export function cudaLibraries(): CudaLibraries | null {
  let pkgDir: string;
  try {
    pkgDir = dirname(require.resolve('@tensorflow/tfjs-node-gpu/package.json'));
  } catch {
    return null;
  }
  const searched = [...subdirsLib(join(pkgDir, 'deps', 'nvidia')), ...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean), '/usr/local/cuda/lib64', '/usr/lib/x86_64-linux-gnu'];
  const found: Record<string, string> = {};
  for (const lib of CUDA_LIBRARIES) {
    const dir = searched.find((d) => existsSync(join(d, lib)));
    if (dir) found[lib] = dir;
  }
  return { found, missing: CUDA_LIBRARIES.filter((l) => !(l in found)), searched };
}
