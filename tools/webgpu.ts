/**
 * `medtrain setup webgpu`: the WebGPU engine is optional (Dawn, the `webgpu` package, is 130 MB):
 * install it and tfjs's WebGPU backend into the project, then start it in a child process and say
 * which adapter Dawn found (a real GPU, a software adapter, or none and why).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../src/util/logger.js';
import { npmInstall, PACKAGE_ROOT, ROOT, SetupError, tail } from './setup.js';

const log = createLogger('setup');

/** The versions installed, the same as the checkout's development dependencies (test/package checks it). */
export const WEBGPU_PACKAGES = { webgpu: '0.6.2', '@tensorflow/tfjs-backend-webgpu': '4.22.0' } as const;

export interface WebgpuReport {
  installed: string[];
  present: boolean;
  device: string | null;
  gpu: boolean;
  reason: string | null;
}

function resolvable(pkg: string): boolean {
  try {
    createRequire(join(ROOT, 'package.json')).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** Install what is missing, then probe the engine where medtrain will (a child process: Dawn keeps a process alive). */
export function setupWebgpu(): WebgpuReport {
  const missing = Object.entries(WEBGPU_PACKAGES).filter(([pkg]) => !resolvable(pkg));
  if (missing.length) npmInstall(missing.map(([pkg, v]) => `${pkg}@${v}`));
  else log.info('webgpu and @tensorflow/tfjs-backend-webgpu are installed; checking the engine');
  const engines = pathToFileURL(join(PACKAGE_ROOT, import.meta.url.endsWith('.ts') ? 'src' : join('dist', 'src'), 'backend', `engines.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`)).href;
  const code = `const m = await import(${JSON.stringify(engines)}); const p = await m.probeEngine('webgpu'); process.stdout.write(JSON.stringify(p) + '\\n'); process.exit(0);`;
  const loader = import.meta.url.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const r = spawnSync(process.execPath, [...loader, '--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, MEDTRAIN_LOG_LEVEL: 'warn' } });
  const last = r.stdout?.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !last.startsWith('{')) {
    throw new SetupError(`the WebGPU engine did not start (${r.signal ?? `exit ${r.status}`})\n${tail(`${r.stdout ?? ''}\n${r.stderr ?? ''}`)}`, { hint: 'Dawn needs a Vulkan driver: a GPU driver, or without a GPU Mesa lavapipe (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers)' });
  }
  const p = JSON.parse(last) as { present: boolean; device: string | null; gpu: boolean; reason: string | null };
  return { installed: missing.map(([pkg]) => pkg), present: p.present, device: p.device, gpu: p.gpu, reason: p.reason };
}
