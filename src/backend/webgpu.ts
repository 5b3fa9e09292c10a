/**
 * WebGPU in Node through Dawn (the `webgpu` package). Dawn's GPU object must exist as
 * `navigator.gpu` before @tensorflow/tfjs-backend-webgpu is imported, or the backend does not
 * register. While that object is referenced Node does not exit by itself: `releaseWebGpu()` drops
 * it (scripts also exit explicitly).
 */
import { createLogger } from '../util/logger.js';

const log = createLogger('webgpu');

export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for a software rasteriser (Mesa lavapipe/llvmpipe, SwiftShader, WARP) or Dawn's fallback adapter. */
  software: boolean;
}

let gpu: GPU | null = null;
let backendImported = false;

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|warp|microsoft basic render/i;

/** Create Dawn's GPU object (once) and expose it as navigator.gpu. Throws when Dawn cannot load. */
export async function ensureNavigatorGpu(): Promise<GPU> {
  if (gpu) return gpu;
  const mod = (await import('webgpu')) as unknown as { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  // Dawn's enums and classes (GPUBufferUsage, GPUShaderStage, …) that the tfjs backend refers to.
  for (const [k, v] of Object.entries(mod.globals)) {
    if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  }
  const created = mod.create([]);
  gpu = wrapGpu(created);
  const nav = ((globalThis as { navigator?: object }).navigator ?? {}) as Record<string, unknown>;
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  if (!(globalThis as { navigator?: object }).navigator) {
    Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  }
  return gpu;
}

/**
 * tfjs-backend-webgpu 4.22 asks for features in a list that nests one of them
 * (`[['bgra8unorm-storage']]`) and asks for every feature the adapter lists; some Dawn builds
 * reject that. Flatten the list and keep only features the adapter really has.
 */
function wrapGpu(real: GPU): GPU {
  const requestAdapter = async (options?: GPURequestAdapterOptions) => {
    const adapter = await real.requestAdapter(options);
    if (!adapter) return adapter;
    const requestDevice = adapter.requestDevice.bind(adapter);
    const patched = async (desc?: GPUDeviceDescriptor) => {
      if (desc?.requiredFeatures) {
        const flat = [...(desc.requiredFeatures as Iterable<unknown>)].flat() as GPUFeatureName[];
        desc = { ...desc, requiredFeatures: flat.filter((f) => adapter.features.has(f)) };
      }
      return requestDevice(desc);
    };
    try {
      Object.defineProperty(adapter, 'requestDevice', { value: patched, configurable: true });
    } catch {
      log.debug('could not patch adapter.requestDevice; using it as is');
    }
    return adapter;
  };
  return {
    requestAdapter,
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() {
      return real.wgslLanguageFeatures;
    },
  } as GPU;
}

/** Describe the adapter Dawn would give the backend, or null when there is none. */
export async function probeWebGpuAdapter(): Promise<WebGpuAdapterInfo | null> {
  const g = await ensureNavigatorGpu();
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return null;
  const info = (adapter as GPUAdapter & { info?: GPUAdapterInfo }).info;
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const fallback = Boolean((adapter as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter) ||
    Boolean((info as unknown as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter);
  const software = fallback || SOFTWARE.test(`${vendor} ${architecture} ${device} ${description}`) || (info as unknown as { type?: string } | undefined)?.type === 'CPU';
  return { vendor, architecture, device, description, software };
}

/** Import the tfjs WebGPU backend (after navigator.gpu exists) so that it registers. */
export async function importWebGpuBackend(): Promise<void> {
  if (backendImported) return;
  await ensureNavigatorGpu();
  await import('@tensorflow/tfjs-backend-webgpu');
  backendImported = true;
}

export function webGpuName(info: WebGpuAdapterInfo): string {
  const parts = [info.description || info.device, info.vendor, info.architecture].filter(Boolean);
  return parts.length ? [...new Set(parts)].join(' / ') : 'unknown adapter';
}

/** Drop Dawn's GPU object so Node can exit; the webgpu engine must not be used afterwards. */
export function releaseWebGpu(): void {
  gpu = null;
  const nav = (globalThis as { navigator?: Record<string, unknown> }).navigator;
  if (nav && 'gpu' in nav) {
    try {
      delete nav.gpu;
    } catch {
      nav.gpu = undefined;
    }
  }
}
