/**
 * Input preprocessing per model family, as keras.applications does it (imagenet_utils):
 *  - 'torch': x/255, then ImageNet mean [0.485, 0.456, 0.406] and std [0.229, 0.224, 0.225] per channel (DenseNet);
 *  - 'tf':    x/127.5 - 1 (ResNetV2, InceptionV3, InceptionResNetV2, Xception, MobileNetV2);
 *  - 'caffe': RGB→BGR, then minus ImageNet BGR means [103.939, 116.779, 123.68], no scaling (ResNet v1, VGG);
 *  - 'none':  pixels in [0, 255] unchanged (EfficientNet normalises inside the model).
 * Input is RGB in [0, 255], NHWC.
 */
export type PreprocessingMode = 'torch' | 'tf' | 'caffe' | 'none';

export const PREPROCESSING_MODES: readonly PreprocessingMode[] = ['torch', 'tf', 'caffe', 'none'];

const TORCH_MEAN = [0.485, 0.456, 0.406] as const;
const TORCH_STD = [0.229, 0.224, 0.225] as const;
const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;

/** Apply a model's preprocessing in place to NHWC RGB pixels in [0, 255]; returns the same array. */
export function preprocessInPlace(x: Float32Array, mode: PreprocessingMode): Float32Array {
  const n = x.length;
  if (n % 3 !== 0) throw new Error(`preprocessInPlace: length ${n} is not a multiple of 3 channels`);
  switch (mode) {
    case 'none':
      return x;
    case 'tf':
      for (let i = 0; i < n; i++) x[i] = x[i]! / 127.5 - 1;
      return x;
    case 'torch': {
      const s0 = 1 / (255 * TORCH_STD[0]), s1 = 1 / (255 * TORCH_STD[1]), s2 = 1 / (255 * TORCH_STD[2]);
      const m0 = TORCH_MEAN[0] / TORCH_STD[0], m1 = TORCH_MEAN[1] / TORCH_STD[1], m2 = TORCH_MEAN[2] / TORCH_STD[2];
      for (let i = 0; i < n; i += 3) {
        x[i] = x[i]! * s0 - m0;
        x[i + 1] = x[i + 1]! * s1 - m1;
        x[i + 2] = x[i + 2]! * s2 - m2;
      }
      return x;
    }
    case 'caffe':
      for (let i = 0; i < n; i += 3) {
        const r = x[i]!;
        x[i] = x[i + 2]! - CAFFE_MEAN_BGR[0];
        x[i + 1] = x[i + 1]! - CAFFE_MEAN_BGR[1];
        x[i + 2] = r - CAFFE_MEAN_BGR[2];
      }
      return x;
  }
}
