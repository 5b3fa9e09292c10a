/**
 * `medtrain setup <part>`: an optional engine, set up in this project.
 *   tensorflow [--gpu] [--tf-version V[,V…]] [--force] [--no-verify]: build the native TensorFlow
 *     engine (tfjs-node, or tfjs-node-gpu with --gpu) against libtensorflow from a TensorFlow wheel on
 *     PyPI, where tfjs-node cannot download its own. (In the repository: `npm run setup:tensorflow`.)
 *   webgpu: install the WebGPU engine (Dawn) and say which adapter it finds.
 * Without either, medtrain trains on WASM.
 */
import { cli, MedtrainError } from 'medtrain';
import { setupTensorflow, TF_VERSIONS, type SetupReport } from '../tools/tensorflow/index.js';
import { setupWebgpu } from '../tools/webgpu.js';
import { COMMANDS } from './commands.js';

const { parseCli, runMain, usage } = cli;

const FLAGS = {
  'tf-version': { type: 'string', value: 'V[,V…]', help: `TensorFlow wheel(s) to try in order (default: ${TF_VERSIONS.join(', ')}, until one works)` },
  gpu: { type: 'boolean', help: "build @tensorflow/tfjs-node-gpu against the CUDA-enabled tensorflow wheel (its CUDA libraries: pip's nvidia packages, as tensorflow[and-cuda] installs them)" },
  force: { type: 'boolean', help: 'rebuild even if an earlier build is in place and works' },
  'no-verify': { type: 'boolean', help: 'skip the checks against the CPU engine' },
} as const;

const PARTS = ['tensorflow', 'webgpu'];

const SOURCES: Record<SetupReport['source'], string> = {
  'python-package': 'from the installed Python package',
  'pip-download': 'from the wheel downloaded from PyPI',
  'tfjs-node-install': "downloaded by tfjs-node's own install",
};

runMain(async () => {
  const { flags, positionals } = parseCli('setup', FLAGS, process.argv.slice(2), { positionals: true });
  if (flags.help) {
    process.stdout.write(usage('setup', COMMANDS.setup, FLAGS, PARTS.join('|')));
    return 0;
  }
  const [part, ...extra] = positionals;
  if (!PARTS.includes(part ?? '') || extra.length) {
    throw new MedtrainError(part === undefined ? 'setup needs the part to set up' : `unknown part to set up: ${[part, ...extra].join(' ')}`, { code: 'bad-flag', value: part, hint: 'medtrain setup tensorflow [--gpu], or medtrain setup webgpu' });
  }
  if (part === 'webgpu') {
    const w = setupWebgpu();
    if (flags.json) process.stdout.write(`${JSON.stringify(w)}\n`);
    else process.stdout.write(w.present ? `WebGPU engine ready on ${w.device}${w.gpu ? '' : ' (not a GPU: auto prefers tensorflow or wasm)'}; use it with --engine webgpu\n` : `WebGPU is installed but has no adapter here: ${w.reason}\n`);
    return 0;
  }
  const versions = flags['tf-version']?.split(',').map((v) => v.trim());
  const bad = versions?.find((v) => !/^\d+\.\d+\.\d+(\.post\d+)?$/.test(v));
  if (bad !== undefined) {
    throw new MedtrainError('--tf-version needs full versions such as 2.21.0, comma-separated', { code: 'bad-flag', column: '--tf-version', value: bad, hint: `versions tried by default: ${TF_VERSIONS.join(', ')}` });
  }
  const report = await setupTensorflow({ ...(versions && { tfVersions: versions }), gpu: flags.gpu ?? false, force: flags.force ?? false, verify: !flags['no-verify'] });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return 0;
  }
  const checks = report.verify ? `; checked against the CPU engine: ${report.verify.ops.length} op groups and a training step agree (device: ${report.verify.device}${report.verify.gpu ? ', GPU' : ''})` : '';
  process.stdout.write(
    `${report.built ? 'built' : 'already built:'} ${report.package} ${report.tfjsNode} on libtensorflow ${report.tensorflow} ` +
      `(${SOURCES[report.source]}) in ${report.seconds.total!.toFixed(1)} s${checks}.\n` +
      "Use it with --engine tensorflow, MEDTRAIN_ENGINE=tensorflow or initBackend('tensorflow'); `auto` picks it over wasm.\n",
  );
  return 0;
});
