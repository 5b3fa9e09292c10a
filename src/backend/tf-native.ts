/**
 * Training ops that the native TensorFlow engine ('tensorflow': tfjs-node or tfjs-node-gpu) runs as
 * single TensorFlow kernels instead of tfjs's compositions of small ops:
 *
 * - training-mode batch normalisation: FusedBatchNormV3 forward and FusedBatchNormGradV3 backward
 *   (tfjs computes the batch moments, normalises and differentiates all of it as ~30 element-wise ops
 *   per layer);
 * - the ReLU gradient: ReluGrad (tfjs runs Step as Greater, Fill, Select, IsNan and a Select more).
 *
 * Profiled on a DenseNetMini training step (64 px, batch 32), these compositions took about half of
 * the step's time. Other engines keep tfjs's own ops; results agree to float rounding (tested).
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-node's backend this module calls (NodeJSKernelBackend). */
interface NodeBackend {
  binding: { TF_ATTR_TYPE: number; TF_ATTR_FLOAT: number; TF_ATTR_STRING: number; TF_ATTR_BOOL: number; TF_FLOAT: number };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.Tensor[]): tf.Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: tf.Tensor[], numOutputs: number): tf.Tensor[];
}

interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** The native backend when it is the active one and can run raw TensorFlow ops, else null. */
function nativeBackend(): NodeBackend | null {
  if (tf.getBackend() !== 'tensorflow') return null;
  const b = tf.backend() as unknown as Partial<NodeBackend>;
  return typeof b.executeMultipleOutputs === 'function' && b.binding ? (b as NodeBackend) : null;
}

function bnAttrs(b: NodeBackend, epsilon: number): OpAttr[] {
  const { binding: k } = b;
  return [
    { name: 'T', type: k.TF_ATTR_TYPE, value: k.TF_FLOAT },
    { name: 'U', type: k.TF_ATTR_TYPE, value: k.TF_FLOAT },
    { name: 'epsilon', type: k.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: k.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: k.TF_ATTR_BOOL, value: true },
  ];
}

export interface BatchNormTraining {
  /** The normalised, scaled and shifted output (differentiable with respect to x, scale and offset). */
  y: tf.Tensor;
  /** The batch's mean and biased variance per channel (not differentiable). */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Whether `nativeBatchNormTraining` runs for `x` on the active engine. */
export function canRunNativeBatchNorm(x: tf.Tensor): boolean {
  return x.rank === 4 && x.dtype === 'float32' && nativeBackend() !== null;
}

/**
 * Training-mode batch normalisation of a float32 NHWC tensor over N, H and W with the native fused
 * kernels, or null when the active engine cannot (not native, another rank or dtype).
 */
export function nativeBatchNormTraining(x: tf.Tensor, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): BatchNormTraining | null {
  if (!canRunNativeBatchNorm(x)) return null;
  const b = nativeBackend()!;
  const attrs = bnAttrs(b, epsilon);
  const n = x.shape[0]! * x.shape[1]! * x.shape[2]!;
  let stats: [tf.Tensor, tf.Tensor] | null = null;
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xIn, s, o] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const empty = tf.tensor1d([], 'float32');
    const [y, mean, unbiased, r1, r2, r3] = b.executeMultipleOutputs('FusedBatchNormV3', attrs, [xIn!, s!, o!, empty, empty], 6);
    empty.dispose();
    stats = [tf.keep(mean!), tf.keep(n > 1 ? tf.mul(unbiased!, (n - 1) / n) : unbiased!)];
    save([xIn!, s!, r1!, r2!, r3!]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, ss, s1, s2, s3] = saved;
        const [dx, dScale, dOffset] = b.executeMultipleOutputs('FusedBatchNormGradV3', attrs, [dy as tf.Tensor, sx!, ss!, s1!, s2!, s3!], 5);
        return [dx!, dScale!, dOffset!];
      },
    };
  });
  const y = run(x, scale, offset);
  const [mean, variance] = stats!;
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

let reluGradInstalled = false;

/**
 * Make the ReLU gradient one ReluGrad kernel on the native engine (other engines keep tfjs's
 * formula, dy · step(x)). Idempotent; called when the native engine starts.
 */
export function installNativeReluGrad(): void {
  if (reluGradInstalled) return;
  reluGradInstalled = true;
  tf.registerGradient({
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as tf.Tensor[];
      return {
        x: () => {
          const b = nativeBackend();
          if (b && x!.dtype === 'float32') return b.executeSingleOutput('ReluGrad', [{ name: 'T', type: b.binding.TF_ATTR_TYPE, value: b.binding.TF_FLOAT }], [dy as tf.Tensor, x!]);
          return tf.mul(dy as tf.Tensor, tf.cast(tf.step(x!), 'float32'));
        },
      };
    },
  });
}
