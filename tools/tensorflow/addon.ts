/**
 * Build tfjs-node's addon (tfjs_binding.node) against libtensorflow from a TensorFlow wheel:
 * install the npm package without its install script (which would download libtensorflow 2.9.1
 * from storage.googleapis.com), lay the libraries and headers out in its `deps/` folder as its
 * binding.gyp expects, compile with node-gyp, and check that every TF_* / TFE_* symbol the addon
 * needs is exported by the libraries.
 */
import { existsSync, readFileSync, rmSync, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { writeDirAtomic } from '../../src/util/fs.js';
import { createLogger } from '../../src/util/logger.js';
import { npmInstall } from '../setup.js';
import { ROOT, SetupError, TFJS_NODE_VERSION, runStep } from './common.js';
import { LIBS, type TensorflowLibs } from './wheel.js';

const log = createLogger('setup:tensorflow');

export type TfjsNodePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export function packageDir(pkg: TfjsNodePackage): string {
  return join(ROOT, 'node_modules', pkg);
}

function installedVersion(pkg: TfjsNodePackage): string | null {
  try {
    return (JSON.parse(readFileSync(join(packageDir(pkg), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Install tfjs-node(-gpu) at the pinned version without its install script (which would download
 * libtensorflow); its @tensorflow/tfjs is the project's (the version medtrain asks for): one copy of tfjs.
 */
export function installPackage(pkg: TfjsNodePackage): boolean {
  if (installedVersion(pkg) === TFJS_NODE_VERSION) return false;
  npmInstall([`${pkg}@${TFJS_NODE_VERSION}`]);
  if (installedVersion(pkg) !== TFJS_NODE_VERSION) {
    throw new SetupError(`npm did not install ${pkg}@${TFJS_NODE_VERSION} (found ${installedVersion(pkg) ?? 'nothing'})`, { hint: 'run `npm ci` and then this again' });
  }
  return true;
}

/** Remove a package this run installed but could not build: without its addon it only fails to load. */
export function removePackage(pkg: TfjsNodePackage): void {
  rmSync(packageDir(pkg), { recursive: true, force: true });
  log.info(`removed ${pkg} again: it has no working addon`);
}

/**
 * The folder with Node's own headers (include/node/node_api.h) for node-gyp, or null to let
 * node-gyp use its cache or download them. NodeSource's nodejs package ships them in /usr/include/node.
 */
export function nodeHeadersDir(): string | null {
  const candidates = [process.env.npm_config_nodedir, dirname(dirname(process.execPath))].filter((d): d is string => Boolean(d));
  return candidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')) && existsSync(join(d, 'include', 'node', 'common.gypi'))) ?? null;
}

/** The headers binding/*.cc include from the TensorFlow tree, found by the compiler itself (g++ -M). */
function headerClosure(pkgDir: string, include: string, nodeDir: string | null): string[] {
  const sources = ['binding/tfjs_backend.cc', 'binding/tfjs_binding.cc'];
  const r = runStep('finding the TensorFlow headers the addon includes', 'g++', ['-std=gnu++17', '-M', '-MG', `-I${include}`, ...(nodeDir ? [`-I${join(nodeDir, 'include', 'node')}`] : []), ...sources], {
    cwd: pkgDir,
    hint: 'the TensorFlow C headers of this wheel do not compile with g++; an older TensorFlow may',
    fallback: true,
  });
  const files = r.stdout.split(/[\s\\]+/).filter((f) => f.startsWith(`${include}/`));
  return [...new Set(files.map((f) => relative(include, f)))].sort();
}

/**
 * Fill `deps/` the way tfjs-node's binding.gyp links it: headers in deps/include; in deps/lib the
 * two libraries (hard links into the wheel when on the same file system, else copies) plus
 * `libtensorflow.so` / `libtensorflow_framework.so` for `-ltensorflow -ltensorflow_framework`.
 * The addon then needs libtensorflow_cc.so.2 and libtensorflow_framework.so.2 (their sonames),
 * found through its rpath $ORIGIN/../../deps/lib. For the GPU build, deps/nvidia points at the
 * wheel's CUDA libraries, so the libraries' own rpath ($ORIGIN/../nvidia/*) finds them as in
 * site-packages.
 */
export async function layoutDeps(pkgDir: string, tf: TensorflowLibs, nodeDir: string | null): Promise<void> {
  const include = join(tf.dir, 'include');
  const headers = headerClosure(pkgDir, include, nodeDir);
  if (!headers.includes('tensorflow/c/eager/c_api.h')) {
    throw new SetupError(`the headers of TensorFlow ${tf.version} lack tensorflow/c/eager/c_api.h`, { file: include, fallback: true, hint: 'an older TensorFlow may have it' });
  }
  await writeDirAtomic(join(pkgDir, 'deps'), async (tmp) => {
    for (const h of headers) {
      await fsp.mkdir(dirname(join(tmp, 'include', h)), { recursive: true });
      await fsp.copyFile(join(include, h), join(tmp, 'include', h));
    }
    const lib = join(tmp, 'lib');
    await fsp.mkdir(lib);
    for (const name of LIBS) {
      try {
        await fsp.link(join(tf.dir, name), join(lib, name));
      } catch {
        await fsp.copyFile(join(tf.dir, name), join(lib, name));
      }
    }
    await fsp.symlink('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so'));
    await fsp.symlink('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so.2'));
    await fsp.symlink('libtensorflow_framework.so.2', join(lib, 'libtensorflow_framework.so'));
    if (tf.nvidiaDir) await fsp.symlink(tf.nvidiaDir, join(tmp, 'nvidia'));
  });
  log.info(`laid out ${headers.length} headers and libtensorflow ${tf.version} in ${relative(ROOT, join(pkgDir, 'deps'))}`);
}

/** Where tfjs-node loads its addon from (node-pre-gyp's answer, e.g. lib/napi-v8/tfjs_binding.node). */
export function addonPath(pkgDir: string): string {
  const req = createRequire(join(pkgDir, 'package.json'));
  const preGyp = req('@mapbox/node-pre-gyp') as { find(packageJson: string): string };
  return preGyp.find(join(pkgDir, 'package.json'));
}

/** The node-gyp that npm bundles: named by `npm run`, else found beside npm, else the one on PATH. */
function nodeGypCommand(): [string, string[]] {
  const cli = process.env.npm_execpath;
  const candidates = [
    process.env.npm_config_node_gyp,
    cli && join(dirname(dirname(cli)), 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(dirname(dirname(process.execPath)), 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c): c is string => Boolean(c) && existsSync(c!));
  return found ? [process.execPath, [found]] : ['node-gyp', []];
}

/** Compile the addon with node-gyp into the place tfjs-node loads it from. */
export function buildAddon(pkgDir: string, nodeDir: string | null): string {
  const addon = addonPath(pkgDir);
  const napi = /napi-v(\d+)/.exec(addon)?.[1];
  if (!napi) throw new SetupError(`cannot tell the N-API version from tfjs-node's addon path ${addon}`, { hint: 'reinstall tfjs-node: npm ci, then this again' });
  const [gyp, pre] = nodeGypCommand();
  const args = [
    ...pre,
    'rebuild',
    `--jobs=${availableParallelism()}`,
    ...(nodeDir ? [`--nodedir=${nodeDir}`] : []),
    '--module_name=tfjs_binding',
    `--module_path=${dirname(addon)}`,
    `--napi_build_version=${napi}`,
  ];
  log.info(`building tfjs_binding.node with node-gyp (N-API ${napi}${nodeDir ? `, Node headers in ${nodeDir}/include/node` : ''})`);
  runStep('building the addon', gyp, args, {
    cwd: pkgDir,
    hint: nodeDir
      ? 'if the compiler failed on a TensorFlow header, an older TensorFlow may build (--tf-version); if g++, make or python3 is missing: apt-get install -y g++ make python3'
      : "node-gyp needs Node's headers: NodeSource's nodejs package ships them in /usr/include/node (Debian's own nodejs: apt-get install libnode-dev), or let node-gyp download them from nodejs.org",
    fallback: true,
  });
  if (!existsSync(addon)) throw new SetupError(`node-gyp finished but ${addon} is missing`, { hint: 'run again with --log-level debug' });
  return addon;
}

/** Where the stderr helper lives beside the engine it quiets (src/backend/quiet.ts loads it from there). */
export const STDIO_HELPER = join('deps', 'medtrain-stdio.node');

const STDIO_SOURCE = `// medtrain's stderr helper: point file descriptor 2 at /dev/null while a native library loads.
#include <fcntl.h>
#include <node_api.h>
#include <unistd.h>

static napi_value mute(napi_env env, napi_callback_info info) {
  int saved = dup(2);
  int nul = open("/dev/null", O_WRONLY);
  if (saved >= 0 && nul >= 0) dup2(nul, 2);
  if (nul >= 0) close(nul);
  napi_value r;
  napi_create_int32(env, saved, &r);
  return r;
}

static napi_value restore(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t saved = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc == 1) napi_get_value_int32(env, argv[0], &saved);
  if (saved >= 0) {
    dup2(saved, 2);
    close(saved);
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"mute", NULL, mute, NULL, NULL, NULL, napi_default, NULL},
    {"restore", NULL, restore, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 2, props);
  return exports;
}
`;

/**
 * Build the stderr helper (deps/medtrain-stdio.node): libtensorflow logs through absl as it loads,
 * below anything TF_CPP_MIN_LOG_LEVEL reaches, and Node cannot duplicate a file descriptor itself.
 * Without Node's headers it is skipped (quiet.ts then mutes only where /proc can reopen stderr).
 */
export async function buildStdioHelper(pkgDir: string, nodeDir: string | null): Promise<string | null> {
  if (!nodeDir) {
    log.warn("no Node headers here: the stderr helper is not built, so libtensorflow's load-time log lines may show");
    return null;
  }
  const out = join(pkgDir, STDIO_HELPER);
  const src = join(pkgDir, 'deps', 'medtrain-stdio.c');
  await fsp.writeFile(src, STDIO_SOURCE);
  runStep('building the stderr helper', 'gcc', ['-shared', '-fPIC', '-O2', `-I${join(nodeDir, 'include', 'node')}`, src, '-o', out], { cwd: pkgDir, hint: 'gcc comes with g++ (apt-get install -y g++)' });
  return out;
}

function symbols(file: string, which: '--defined-only' | '--undefined-only'): Set<string> {
  const r = runStep(`listing the symbols of ${file}`, 'nm', ['-D', which, file], { hint: 'nm comes with binutils (apt-get install -y binutils)' });
  const out = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const name = line.trim().split(/\s+/).pop()?.replace(/@.*$/, '');
    if (name && /^TFE?_/.test(name)) out.add(name);
  }
  return out;
}

/** Every TF_* / TFE_* symbol the addon imports must be exported by the two libraries (nm -D). */
export function checkSymbols(addon: string, libDir: string): { needed: number; exported: number } {
  const exported = new Set<string>();
  for (const name of LIBS) for (const s of symbols(join(libDir, name), '--defined-only')) exported.add(s);
  const needed = symbols(addon, '--undefined-only');
  const missing = [...needed].filter((s) => !exported.has(s)).sort();
  if (missing.length) {
    throw new SetupError(`libtensorflow does not export ${missing.length} symbol(s) the addon needs (nm -D): ${missing.join(', ')}`, {
      file: libDir,
      hint: 'an older TensorFlow may still export them (--tf-version)',
      fallback: true,
    });
  }
  return { needed: needed.size, exported: exported.size };
}
