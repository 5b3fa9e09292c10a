/**
 * `medtrain setup tensorflow`: make the native TensorFlow engine work without downloading
 * libtensorflow from storage.googleapis.com. Builds tfjs-node's addon against libtensorflow from
 * a TensorFlow wheel (PyPI), newest pinned version first, older ones when a version shows a
 * symbol or ABI problem, and checks the result against the CPU engine. A stamp in the package's
 * deps/ folder makes a second run a quick check.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { join, relative } from 'node:path';
import { writeJsonAtomic } from '../../src/util/fs.js';
import { createLogger } from '../../src/util/logger.js';
import { listForMessage } from '../../src/util/errors.js';
import { PYTHON, SetupError, TFJS_NODE_VERSION, TF_VERSIONS, cacheDir, run } from './common.js';

export { TF_VERSIONS };
import { addonPath, buildAddon, buildStdioHelper, checkSymbols, STDIO_HELPER, installPackage, layoutDeps, nodeHeadersDir, packageDir, removePackage, type TfjsNodePackage } from './addon.js';
import { LIBS, locateTensorflow, type TensorflowLibs } from './wheel.js';
import { verifyInChild, type VerifyReport } from './verify.js';

const log = createLogger('setup:tensorflow');

export interface SetupOptions {
  /** TensorFlow versions to try, in order (default: TF_VERSIONS, newest first). */
  tfVersions?: string[];
  /** Build tfjs-node-gpu against the CUDA-enabled tensorflow wheel (CUDA libraries: pip's nvidia-* packages, when installed). */
  gpu?: boolean;
  /** Rebuild even when the stamp says the addon is up to date. */
  force?: boolean;
  /** Run the checks against the CPU engine (default true). */
  verify?: boolean;
}

export interface Attempt {
  tensorflow: string;
  ok: boolean;
  error?: string;
}

export interface SetupReport {
  package: TfjsNodePackage;
  tfjsNode: string;
  /** The TensorFlow wheel version the addon was built against. */
  tensorflow: string;
  /** Where libtensorflow came from; 'tfjs-node-install' when tfjs-node's own install had downloaded it. */
  source: 'python-package' | 'pip-download' | 'tfjs-node-install';
  /** False when an earlier run's build was still in place and passed the checks. */
  built: boolean;
  /** Versions tried in this run, in order, with why each failed. */
  attempts: Attempt[];
  addon: string;
  /** TF_/TFE_ symbols the addon imports and the libraries export (null when not built here). */
  symbols: { needed: number; exported: number } | null;
  verify: VerifyReport | null;
  seconds: Record<string, number>;
}

/** What a finished setup records in `<package>/deps/medtrain-setup.json`. */
interface Stamp {
  tensorflow: string;
  source: TensorflowLibs['source'];
  tfjsNode: string;
  addon: string;
  libs: Record<string, number>;
  symbols: { needed: number; exported: number };
  builtWith: { node: string; napi: string };
  verified: boolean;
}

function stampPath(pkgDir: string): string {
  return join(pkgDir, 'deps', 'medtrain-setup.json');
}

function libSizes(pkgDir: string): Record<string, number> {
  return Object.fromEntries(LIBS.map((l) => [l, statSync(join(pkgDir, 'deps', 'lib', l)).size]));
}

/**
 * The version of the libtensorflow that tfjs-node's own install script downloaded (it keeps
 * deps/lib/libtensorflow.so.2.9.1) when that install worked and left an addon, else null.
 */
function ownLibtensorflow(pkgDir: string): string | null {
  try {
    const lib = readdirSync(join(pkgDir, 'deps', 'lib')).map((f) => /^libtensorflow\.so\.(\d+\.\d+\.\d+)$/.exec(f)?.[1]).find(Boolean);
    return lib && existsSync(addonPath(pkgDir)) ? lib : null;
  } catch {
    return null;
  }
}

/** The stamp of an earlier build that still matches what is on disk, or null. */
function currentStamp(pkgDir: string, versions: readonly string[]): Stamp | null {
  try {
    const s = JSON.parse(readFileSync(stampPath(pkgDir), 'utf8')) as Stamp;
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string };
    const sizes = libSizes(pkgDir);
    const same = versions.includes(s.tensorflow) && pkg.version === s.tfjsNode && LIBS.every((l) => sizes[l] === s.libs[l]);
    return same && existsSync(join(pkgDir, s.addon)) && join(pkgDir, s.addon) === addonPath(pkgDir) ? s : null;
  } catch {
    return null;
  }
}

function preflight(gpu: boolean): void {
  if (platform() !== 'linux' || arch() !== 'x64') {
    throw new SetupError(`setup:tensorflow builds against the Linux x86_64 TensorFlow wheels; this is ${platform()} ${arch()}`, {
      hint: `use tfjs-node's own install on this platform: npm install @tensorflow/tfjs-node${gpu ? '-gpu' : ''}`,
    });
  }
  const missing = [
    ['g++', 'g++'],
    ['make', 'make'],
    ['nm', 'binutils'],
    [PYTHON, 'python3'],
  ].filter(([cmd]) => {
    try {
      return run(cmd!, ['--version']).status !== 0;
    } catch {
      return true;
    }
  });
  if (missing.length) {
    throw new SetupError(`the addon build needs ${missing.map(([c]) => c).join(', ')}, not found`, {
      hint: `Debian 12: apt-get install -y ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
    });
  }
}

function verifyOrThrow(pkg: TfjsNodePackage, tfVersion: string): VerifyReport {
  const report = verifyInChild();
  if (report.package !== pkg) {
    throw new SetupError(`initBackend('tensorflow') loaded ${report.package}, not the ${pkg} just built`, {
      hint: 'initBackend prefers @tensorflow/tfjs-node-gpu when it loads: remove the package you do not want (rm -r node_modules/<package>)',
    });
  }
  if (pkg.endsWith('-gpu') && !report.gpu) log.warn('TensorFlow lists no GPU device: tfjs-node-gpu runs on the CPU (is the NVIDIA driver for CUDA 12 installed?)');
  if (!report.ok) {
    const bad = report.ops.filter((o) => !o.ok).map((o) => `${o.op} (max |diff| ${o.maxAbsDiff.toExponential(2)})`);
    if (!report.train.ok) bad.push(`a training step (losses ${report.train.losses.engine.join(', ')} vs CPU ${report.train.losses.cpu.join(', ')}; max weight diff ${report.train.maxWeightDiff.toExponential(2)})`);
    throw new SetupError(`the native engine on libtensorflow ${tfVersion} disagrees with the CPU engine: ${listForMessage(bad)}`, {
      hint: 'an older TensorFlow may agree (--tf-version)',
      fallback: true,
    });
  }
  return report;
}

export async function setupTensorflow(opts: SetupOptions = {}): Promise<SetupReport> {
  const started = Date.now();
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, f: () => T | Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await f();
    } finally {
      seconds[name] = (seconds[name] ?? 0) + (Date.now() - t0) / 1000;
    }
  };
  const gpu = opts.gpu ?? false;
  const pkg: TfjsNodePackage = gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const pkgDir = packageDir(pkg);
  const versions: readonly string[] = opts.tfVersions?.length ? opts.tfVersions : TF_VERSIONS;
  const verify = opts.verify ?? true;
  const done = (r: Omit<SetupReport, 'package' | 'tfjsNode' | 'seconds'>): SetupReport => {
    seconds.total = (Date.now() - started) / 1000;
    return { package: pkg, tfjsNode: TFJS_NODE_VERSION, ...r, seconds };
  };
  preflight(gpu);
  const added = await timed('install', () => installPackage(pkg));
  try {
    const stamp = opts.force ? null : currentStamp(pkgDir, versions);
    if (stamp) {
      log.info(`${pkg} is already built against TensorFlow ${stamp.tensorflow}; checking it`);
      if (!existsSync(join(pkgDir, STDIO_HELPER))) await buildStdioHelper(pkgDir, nodeHeadersDir());
      try {
        const report = verify ? await timed('verify', () => verifyOrThrow(pkg, stamp.tensorflow)) : null;
        return done({ tensorflow: stamp.tensorflow, source: stamp.source, built: false, attempts: [], addon: stamp.addon, symbols: stamp.symbols, verify: report });
      } catch (e) {
        log.warn(`the earlier build no longer works, rebuilding: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    const own = opts.force || stamp ? null : ownLibtensorflow(pkgDir);
    if (own) {
      log.info(`${pkg} was installed the usual way, with its own libtensorflow ${own}; leaving it as it is (--force rebuilds it against a wheel)`);
      const report = verify ? await timed('verify', () => verifyOrThrow(pkg, own)) : null;
      return done({ tensorflow: own, source: 'tfjs-node-install', built: false, attempts: [], addon: relative(pkgDir, addonPath(pkgDir)), symbols: null, verify: report });
    }
    return done(await buildFirstWorking(pkg, versions, { gpu, verify, timed }));
  } catch (e) {
    if (added) removePackage(pkg);
    throw e;
  }
}

type Timed = <T>(name: string, f: () => T | Promise<T>) => Promise<T>;

/** Build against each version in turn until one passes every check; later versions only after a version-specific failure. */
async function buildFirstWorking(
  pkg: TfjsNodePackage,
  versions: readonly string[],
  opts: { gpu: boolean; verify: boolean; timed: Timed },
): Promise<Omit<SetupReport, 'package' | 'tfjsNode' | 'seconds'>> {
  const { timed } = opts;
  const pkgDir = packageDir(pkg);
  const nodeDir = nodeHeadersDir();
  if (!nodeDir) log.warn(`no Node headers next to ${process.execPath}; node-gyp will look in its cache or download them`);
  const attempts: Attempt[] = [];
  for (const version of versions) {
    try {
      const tf = await timed('wheel', () => locateTensorflow(version, { gpu: opts.gpu, cache: cacheDir() }));
      await timed('layout', () => layoutDeps(pkgDir, tf, nodeDir));
      const addon = await timed('build', () => buildAddon(pkgDir, nodeDir));
      await buildStdioHelper(pkgDir, nodeDir);
      const symbols = checkSymbols(addon, join(pkgDir, 'deps', 'lib'));
      log.info(`the addon imports ${symbols.needed} TF_/TFE_ symbols; libtensorflow ${version} exports all of them`);
      const report = opts.verify ? await timed('verify', () => verifyOrThrow(pkg, version)) : null;
      const rel = relative(pkgDir, addon);
      const record: Stamp = {
        tensorflow: version,
        source: tf.source,
        tfjsNode: TFJS_NODE_VERSION,
        addon: rel,
        libs: libSizes(pkgDir),
        symbols,
        builtWith: { node: process.version, napi: process.versions.napi ?? '' },
        verified: opts.verify,
      };
      await writeJsonAtomic(stampPath(pkgDir), record);
      attempts.push({ tensorflow: version, ok: true });
      return { tensorflow: version, source: tf.source, built: true, attempts, addon: rel, symbols, verify: report };
    } catch (e) {
      attempts.push({ tensorflow: version, ok: false, error: (e as Error).message });
      const next = versions[versions.indexOf(version) + 1];
      if (!(e instanceof SetupError && e.fallback) || !next) {
        if (attempts.length > 1 && e instanceof SetupError) {
          const last = e.message.split('\n  fix: ')[0];
          throw new SetupError(`no TensorFlow version worked; tried ${attempts.map((a) => a.tensorflow).join(', ')}. Last failure: ${last}`, { hint: e.hint ?? '' });
        }
        throw e;
      }
      log.warn(`TensorFlow ${version} did not work (${(e as Error).message.split('\n')[0]}); trying ${next}`);
    }
  }
  throw new SetupError('no TensorFlow version to try', { hint: `name one with --tf-version (known: ${TF_VERSIONS.join(', ')})` });
}
