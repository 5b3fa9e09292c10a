/**
 * Find libtensorflow and its headers in a TensorFlow wheel: the Python package already installed
 * when its version is the one asked for, else a wheel from PyPI (`pip download`) unpacked into the
 * cache. A wheel's `tensorflow/` folder holds `libtensorflow_cc.so.2` (which exports the C and
 * eager C API, TF_* and TFE_*), `libtensorflow_framework.so.2` and the headers under `include/`.
 */
import { existsSync, readdirSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { writeDirAtomic } from '../../src/util/fs.js';
import { createLogger } from '../../src/util/logger.js';
import { PYTHON, SetupError, run, runStep, tail } from './common.js';

const log = createLogger('setup:tensorflow');

export const LIBS = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'] as const;

export interface TensorflowLibs {
  version: string;
  /** The wheel's `tensorflow/` folder: the two libraries and `include/`. */
  dir: string;
  /** Where they came from: the installed Python package, or a wheel downloaded into the cache. */
  source: 'python-package' | 'pip-download';
  /** The CUDA libraries of `tensorflow[and-cuda]` (site-packages/nvidia), for the GPU build. */
  nvidiaDir: string | null;
}

const FIND_INSTALLED = `
import json, importlib.util, importlib.metadata as md, os
spec = importlib.util.find_spec('tensorflow')
d = list(spec.submodule_search_locations)[0] if spec and spec.submodule_search_locations else None
owners = md.packages_distributions().get('tensorflow', [])
versions = sorted({md.version(o) for o in owners})
nv = os.path.join(os.path.dirname(d), 'nvidia') if d else None
print(json.dumps({'dir': d, 'owners': sorted(set(owners)), 'versions': versions, 'nvidia': nv if nv and os.path.isdir(nv) else None}))
`;

interface Installed {
  dir: string | null;
  owners: string[];
  versions: string[];
  nvidia: string | null;
}

function installedTensorflow(): Installed | null {
  const r = run(PYTHON, ['-c', FIND_INSTALLED]);
  if (r.status !== 0) {
    log.debug(`no usable ${PYTHON} to look for an installed TensorFlow:\n${tail(r.stderr, 5)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Installed;
}

function hasLibs(dir: string): boolean {
  return LIBS.every((l) => existsSync(join(dir, l))) && existsSync(join(dir, 'include', 'tensorflow', 'c', 'c_api.h'));
}

/**
 * libtensorflow of TensorFlow `version`: the installed Python package when it is that version (for
 * the GPU build, the CUDA-enabled `tensorflow` package), else the wheel from PyPI (tensorflow-cpu;
 * for the GPU build `tensorflow`, whose libtensorflow loads CUDA at run time and falls back to the
 * CPU without it). The CUDA libraries are pip's nvidia-* packages beside the installed TensorFlow
 * (`pip install 'tensorflow[and-cuda]'`); without them the GPU build is made all the same.
 */
export async function locateTensorflow(version: string, opts: { gpu: boolean; cache: string }): Promise<TensorflowLibs> {
  const inst = installedTensorflow();
  const matches = inst?.dir && inst.versions.length === 1 && inst.versions[0] === version && hasLibs(inst.dir) && (!opts.gpu || inst.owners.includes('tensorflow'));
  const nvidiaDir = opts.gpu ? (inst?.nvidia ?? null) : null;
  if (opts.gpu && !nvidiaDir) {
    log.warn(`no CUDA libraries (pip's nvidia-* packages) beside ${inst?.dir ?? `${PYTHON}'s site-packages`}: the GPU engine is built, and runs on the CPU until they are installed (${PYTHON} -m pip install 'tensorflow[and-cuda]==${version}', then set up again)`);
  }
  if (matches) {
    log.info(`TensorFlow ${version}: using the installed Python package (${inst!.owners.join(', ')})`);
    return { version, dir: inst!.dir!, source: 'python-package', nvidiaDir };
  }
  return { version, dir: await downloadWheel(version, opts.cache, opts.gpu ? 'tensorflow' : 'tensorflow-cpu'), source: 'pip-download', nvidiaDir };
}

/** `pip download` the wheel (tensorflow-cpu, or tensorflow for the GPU build) and unpack its libraries and headers, once per version. */
async function downloadWheel(version: string, cache: string, name: 'tensorflow' | 'tensorflow-cpu'): Promise<string> {
  const unpacked = join(cache, name === 'tensorflow' ? `${version}-cuda` : version);
  const dir = join(unpacked, 'tensorflow');
  if (hasLibs(dir)) {
    log.info(`TensorFlow ${version}: using the wheel unpacked earlier in ${unpacked}`);
    return dir;
  }
  const wheels = join(cache, 'wheels');
  await fsp.mkdir(wheels, { recursive: true });
  const prefix = `${name.replace('-', '_')}-${version}-`;
  let wheel = readdirSync(wheels).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
  if (!wheel) {
    log.info(`TensorFlow ${version}: downloading ${name}==${version} from PyPI (a few hundred MB)`);
    const r = run(PYTHON, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '--dest', wheels, `${name}==${version}`]);
    if (r.status !== 0) {
      const noWheel = /No matching distribution|Could not find a version/.test(r.stderr);
      throw new SetupError(`pip could not download ${name}==${version}\n${tail(r.stderr, 8)}`, {
        hint: noWheel
          ? `PyPI has no ${name} ${version} wheel for this Python and platform; an older version may have one`
          : `check that PyPI is reachable and that ${PYTHON} has pip (Debian 12: apt-get install -y python3-pip)`,
        fallback: noWheel,
      });
    }
    wheel = readdirSync(wheels).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
    if (!wheel) throw new SetupError(`pip reported success but no ${prefix}*.whl is in ${wheels}`, { hint: 'remove that folder and run this again' });
  }
  log.info(`TensorFlow ${version}: unpacking the libraries and headers of ${wheel}`);
  await writeDirAtomic(unpacked, async (tmp) => {
    runStep('unpacking the wheel', PYTHON, ['-c', UNPACK, join(wheels, wheel), tmp], { hint: `the wheel may be damaged: delete ${join(wheels, wheel)} and run this again` });
  });
  if (!hasLibs(dir)) throw new SetupError(`${wheel} has no ${LIBS.join(' / ')} or no include/tensorflow/c/c_api.h`, { hint: 'try an older version with --tf-version', fallback: true });
  return dir;
}

const UNPACK = `
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
keep = ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2')
with zipfile.ZipFile(wheel) as z:
    for n in z.namelist():
        if n in keep or (n.startswith('tensorflow/include/') and not n.endswith('/')):
            z.extract(n, dest)
`;
