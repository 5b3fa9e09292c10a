/**
 * Source for `new Worker(src, { eval: true })` that loads the module at `moduleUrl` as the worker's
 * entry: the compiled .js directly, or, when the library runs from its TypeScript source, through
 * tsx's loader (Node 20 does not apply `--import` loaders to a worker's entry module).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export function selfWorkerSource(moduleUrl: string): string {
  const self = JSON.stringify(moduleUrl);
  if (!moduleUrl.endsWith('.ts')) return `import(${self});`;
  // tsx/dist/loader.mjs → tsx/dist/esm/api/index.mjs (resolved by path: import.meta.resolve is missing where tsx runs us as CommonJS).
  const loader = createRequire(moduleUrl).resolve('tsx');
  const api = JSON.stringify(pathToFileURL(join(dirname(loader), 'esm', 'api', 'index.mjs')).href);
  return `import(${api}).then((t) => { t.register(); return import(${self}); });`;
}
