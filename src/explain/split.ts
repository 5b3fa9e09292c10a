/**
 * A classifier cut at a layer, for the heatmaps: `front` maps the input to the layer's output A (and
 * to whatever earlier tensors the rest of the graph still reads, e.g. a skip connection around the
 * layer), and `back(A, sides)` runs the layers after it, eagerly and in inference mode, to the
 * logits. Gradients of a logit with respect to A, and the logits of an A with some locations
 * removed, both come from `back`.
 *
 * The layers after the cut are replayed in the model's topological order (tfjs-layers keeps
 * `model.layers` sorted), each on the tensors its inbound layers produced; layers used more than
 * once in the graph are not supported (no registered backbone has any).
 */
import * as tf from '@tensorflow/tfjs';
import { MedtrainError, listForMessage } from '../util/errors.js';

type Sym = tf.SymbolicTensor;

export interface SplitModel {
  /** input → [A, ...sides] */
  front: tf.LayersModel;
  /** The logits [batch, classes] from A (and the sides `front` gave). */
  back: (a: tf.Tensor, sides: readonly tf.Tensor[]) => tf.Tensor2D;
  /** The cut layer's name and A's shape without the batch: [h, w, channels]. */
  layer: string;
  shape: number[];
}

const inputsOf = (l: tf.layers.Layer): Sym[] => {
  const i = l.input as Sym | Sym[];
  return Array.isArray(i) ? i : [i];
};

/** Cut `model` (input → logits) at the layer named `layerName`. */
export function splitAt(model: tf.LayersModel, layerName: string): SplitModel {
  const layers = model.layers;
  const cut = layers.findIndex((l) => l.name === layerName);
  if (cut < 0) {
    const conv = layers.filter((l) => /conv|relu|act|mixed|out|pool/i.test(l.name)).map((l) => l.name);
    throw new MedtrainError(`the model has no layer named '${layerName}'`, { code: 'unknown-layer', value: layerName, hint: `give one of its layers, e.g. ${listForMessage(conv.slice(-8), 8)}` });
  }
  const target = layers[cut]!;
  const out = model.outputs[0]!;
  // The layers between the cut and the output that the output depends on.
  const needed = new Set<tf.layers.Layer>();
  const walk = (s: Sym) => {
    const l = s.sourceLayer as tf.layers.Layer;
    if (l === target || needed.has(l) || layers.indexOf(l) <= cut) return;
    needed.add(l);
    for (const i of inputsOf(l)) walk(i);
  };
  walk(out);
  const after = layers.filter((l) => needed.has(l));
  for (const l of after) if (l.inboundNodes.length > 1) throw new MedtrainError(`layer '${l.name}' is used more than once in the model: heatmaps cannot replay it`, { code: 'unsupported-model', value: l.name });
  const sides: Sym[] = [];
  for (const l of after) {
    for (const i of inputsOf(l)) {
      const src = i.sourceLayer as tf.layers.Layer;
      if (src !== target && !needed.has(src) && !sides.includes(i)) sides.push(i);
    }
  }
  const targetOut = target.output as Sym;
  const front = tf.model({ inputs: model.inputs, outputs: [targetOut, ...sides] });
  const back = (a: tf.Tensor, sideValues: readonly tf.Tensor[]): tf.Tensor2D => {
    const values = new Map<number, tf.Tensor>([[targetOut.id, a]]);
    sides.forEach((s, i) => values.set(s.id, sideValues[i]!));
    if (!after.length) return a as tf.Tensor2D;
    let last: tf.Tensor = a;
    for (const l of after) {
      const ins = inputsOf(l).map((s) => values.get(s.id)!);
      last = l.apply(ins.length === 1 ? ins[0]! : ins, { training: false }) as tf.Tensor;
      values.set((l.output as Sym).id, last);
    }
    return last as tf.Tensor2D;
  };
  return { front, back, layer: target.name, shape: targetOut.shape.slice(1) as number[] };
}
