/**
 * `npm run setup:tensorflow [-- flags]`: build tfjs-node's addon against libtensorflow from a
 * TensorFlow wheel on PyPI, so the native TensorFlow engine works where tfjs-node cannot download
 * libtensorflow. Optional; never part of `npm install`.
 */
import { parseCli, runMain, usage } from '../src/util/cli.js';
import { MedtrainError } from '../src/util/errors.js';
import { createLogger } from '../src/util/logger.js';
import { TF_VERSIONS } from './tensorflow/common.js';
import { setupTensorflow } from './tensorflow/index.js';

const FLAGS = {
  'tf-version': { type: 'string', value: 'V[,V…]', help: `TensorFlow wheel(s) to try in order (default: ${TF_VERSIONS.join(', ')}, until one works)` },
  gpu: { type: 'boolean', help: 'build @tensorflow/tfjs-node-gpu against an installed tensorflow[and-cuda] (CUDA 12; untested here)' },
  force: { type: 'boolean', help: 'rebuild even if an earlier build is in place and works' },
  'no-verify': { type: 'boolean', help: 'skip the checks against the CPU engine' },
} as const;

const log = createLogger('setup:tensorflow');

const SOURCES = {
  'python-package': 'from the installed Python package',
  'pip-download': 'from the wheel downloaded from PyPI',
  'tfjs-node-install': "downloaded by tfjs-node's own install",
} as const;

runMain(async () => {
  const { flags } = parseCli('setup:tensorflow', FLAGS, process.argv.slice(2));
  if (flags.help) {
    process.stdout.write(usage('setup:tensorflow', 'Build the native TensorFlow engine (tfjs-node) against libtensorflow from a TensorFlow wheel on PyPI.', FLAGS));
    return;
  }
  const versions = flags['tf-version']?.split(',').map((v) => v.trim());
  const bad = versions?.find((v) => !/^\d+\.\d+\.\d+(\.post\d+)?$/.test(v));
  if (bad !== undefined) {
    throw new MedtrainError('--tf-version needs full versions such as 2.21.0, comma-separated', { code: 'bad-flag', column: '--tf-version', value: bad, hint: `versions tried by default: ${TF_VERSIONS.join(', ')}` });
  }
  const report = await setupTensorflow({ ...(versions && { tfVersions: versions }), gpu: flags.gpu ?? false, force: flags.force ?? false, verify: !flags['no-verify'] });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  const checks = report.verify
    ? `; checked against the CPU engine: ${report.verify.ops.length} op groups and a training step agree (device: ${report.verify.device})`
    : '';
  log.info(
    `${report.built ? 'built' : 'already built:'} ${report.package} ${report.tfjsNode} on libtensorflow ${report.tensorflow} ` +
      `(${SOURCES[report.source]}) in ${report.seconds.total!.toFixed(1)} s${checks}. ` +
      "Use it with --engine tensorflow, MEDTRAIN_ENGINE=tensorflow or initBackend('tensorflow'); `auto` picks it over wasm.",
  );
});
