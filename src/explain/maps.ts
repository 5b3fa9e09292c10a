/**
 * Class heatmaps over a layer's output A [h, w, K] (K feature maps), for a class c with logit y_c:
 *
 *   gradcam     (Selvaraju et al. 2017) g = ∂y_c/∂A; α_k = mean_ij g_ijk; map = ReLU(Σ_k α_k A_k)
 *   gradcam++   (Chattopadhay et al. 2018, with the exponential-score closed form) α_ijk = g² / (2g² +
 *               Σ_ab A_abk · g³ + 1e-7), 0 where g = 0; w_k = Σ_ij α_ijk ReLU(g_ijk); map = ReLU(Σ_k w_k A_k)
 *   crm         class-selective relevance (Kim et al. 2019): a location (i, j) matters by how much the
 *               outputs change when it is removed (A_ij = 0 in every feature map):
 *               R(i, j) = Σ_n (y_n − y_n^(ij))² over every output n, kept where removing the location
 *               lowers y_c (the location speaks for class c), 0 elsewhere.
 *
 * Maps are at A's resolution, unnormalised (what the Keras reference computes); `explain` scales and
 * upsamples them for display. The logit, not the probability, is the score: a sigmoid's saturation
 * would otherwise flatten the gradients of confident predictions.
 */
import * as tf from '@tensorflow/tfjs';
import type { SplitModel } from './split.js';

export type HeatmapMethod = 'gradcam' | 'gradcam++' | 'crm';
export const HEATMAP_METHODS: readonly HeatmapMethod[] = ['gradcam', 'gradcam++', 'crm'];

export interface ClassMaps {
  /** [batch, h, w] maps of the class, row-major. */
  maps: Float32Array;
  h: number;
  w: number;
  /** The class's logits [batch]. */
  logits: Float32Array;
}

/** One method's maps of class `c` for a batch of preprocessed images x [batch, H, W, 3]. */
export async function classMaps(split: SplitModel, x: tf.Tensor4D, c: number, method: HeatmapMethod): Promise<ClassMaps> {
  const [h, w] = split.shape as [number, number, number];
  const batch = x.shape[0];
  const outs = split.front.predict(x) as tf.Tensor | tf.Tensor[];
  const [a, ...sides] = (Array.isArray(outs) ? outs : [outs]) as [tf.Tensor4D, ...tf.Tensor[]];
  try {
    const result = tf.tidy(() => {
      const logits = split.back(a, sides);
      const yc = logits.slice([0, c], [batch, 1]).reshape([batch]);
      if (method === 'crm') return { map: crm(split, a, sides, logits, c), yc };
      // The batch's logits of class c are independent per image: one gradient of their sum.
      const g = tf.grad((t: tf.Tensor) => split.back(t, sides).slice([0, c], [batch, 1]).sum())(a) as tf.Tensor4D;
      let weights: tf.Tensor;
      if (method === 'gradcam') weights = g.mean([1, 2]);
      else {
        const g2 = g.square();
        const g3 = g2.mul(g);
        const sumA = a.sum([1, 2], true);
        const alpha = tf.where(g.notEqual(0), g2.div(g2.mul(2).add(sumA.mul(g3)).add(1e-7)), tf.zerosLike(g));
        weights = alpha.mul(g.relu()).sum([1, 2]);
      }
      const map = a.mul(weights.reshape([batch, 1, 1, -1])).sum(3).relu();
      return { map, yc };
    });
    const maps = (await result.map.data()) as Float32Array;
    const logits = (await result.yc.data()) as Float32Array;
    result.map.dispose();
    result.yc.dispose();
    return { maps, h, w, logits };
  } finally {
    a.dispose();
    for (const s of sides) s.dispose();
  }
}

/** CRM (see the top of the file): the outputs with each location removed, one forward of `back` per image. */
function crm(split: SplitModel, a: tf.Tensor4D, sides: readonly tf.Tensor[], logits: tf.Tensor2D, c: number): tf.Tensor3D {
  const [batch, h, w, k] = a.shape;
  const L = h * w;
  // L copies of A, copy l with location l zeroed: A ⊙ (1 − onehot(l)).
  const keep = tf.sub(1, tf.oneHot(tf.range(0, L, 1, 'int32'), L).reshape([L, h, w, 1]));
  const maps: tf.Tensor[] = [];
  for (let b = 0; b < batch; b++) {
    const ab = a.slice([b, 0, 0, 0], [1, h, w, k]);
    const removed = ab.mul(keep) as tf.Tensor4D;
    const sb = sides.map((s) => tf.tile(s.slice([b], [1]), [L, ...new Array<number>(s.rank - 1).fill(1)]));
    const y = split.back(removed, sb); // [L, classes]
    const base = logits.slice([b, 0], [1, -1]);
    const drop = base.sub(y); // y_n − y_n^(l)
    const relevance = drop.square().sum(1);
    const speaksFor = drop.slice([0, c], [L, 1]).reshape([L]).greater(0);
    maps.push(tf.where(speaksFor, relevance, tf.zerosLike(relevance)).reshape([h, w]));
  }
  return tf.stack(maps) as tf.Tensor3D;
}
