/**
 * Engine-agnostic suites (losses, metrics, layers, models, training) run on every engine named in
 * MEDTRAIN_TEST_ENGINE, a comma-separated list (default `cpu`). CI sets `cpu,tensorflow` after
 * `medtrain setup tensorflow` (npm run setup:tensorflow); a developer may run e.g. `MEDTRAIN_TEST_ENGINE=wasm npx vitest run test/losses`.
 * An engine that is named but absent fails the suite with initBackend's message (what is present,
 * how to install it); it is never skipped silently.
 *
 *   describeEngines('weighted BCE', (engine) => {
 *     it('matches Keras', async () => { ... });   // the engine is active in every test
 *   });
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { initBackend, resolveEngineRequest, shutdownBackend, type EngineName } from '../../src/backend/index.js';

/** The engines engine-agnostic suites run on, from MEDTRAIN_TEST_ENGINE (default: cpu). */
export function testEngines(env: string | undefined = process.env.MEDTRAIN_TEST_ENGINE): EngineName[] {
  const names = (env ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const engines = names.map((n) => {
    const e = resolveEngineRequest(n);
    if (e === 'auto') throw new Error("MEDTRAIN_TEST_ENGINE lists engines by name (cpu, wasm, webgpu, tensorflow), not 'auto'");
    return e;
  });
  return engines.length ? [...new Set(engines)] : ['cpu'];
}

/**
 * One `describe` per test engine, named `<name> [engine: <engine>]`, with that engine started
 * before its tests and released after them. The blocks run one after the other in the file.
 */
export function describeEngines(name: string, fn: (engine: EngineName) => void): void {
  for (const engine of testEngines()) {
    describe(`${name} [engine: ${engine}]`, () => {
      beforeAll(async () => {
        await initBackend(engine, { quiet: true });
      });
      afterAll(() => shutdownBackend());
      fn(engine);
    });
  }
}
