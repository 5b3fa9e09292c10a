/**
 * The classifier: a registered backbone (Keras layer names, without its top) followed by the head
 *
 *     head_pool (global average, or max, pooling)
 *     → head_dense: Dense(headUnits, relu)          unless headUnits = 0
 *     → head_dropout: Dropout(dropout)              when dropout > 0
 *     → head_logits: Dense(numClasses)              linear: the logits
 *     → head_output: Activation(sigmoid)            unless activation = 'linear'
 *
 * The default head is the reference Keras codebase's: GAP → Dense(1024, relu) → Dense(n, sigmoid),
 * so that its whole-model saves load by position and its published numbers are reproduced with the
 * same architecture. `headUnits: 0` gives the linear head of CheXNet and of the CheXpert paper
 * (Irvin et al. 2019): GAP → Dense(n, sigmoid).
 *
 * Losses computed from logits: `logitsModel` maps the same input to the pre-sigmoid logits with the
 * same weights (or build with `activation: 'linear'` and `model` outputs logits).
 *
 * Freezing and warm-up: `setBackboneTrainable(false)` freezes every backbone layer (its frozen
 * BatchNormalization layers then run in inference mode, as in Keras). With `warmupEpochs: K` the
 * backbone starts frozen and the training loop calls `beginEpoch(epoch)` at the start of every epoch:
 * the backbone unfreezes at epoch K, and the call returns true when the trainable set changed (the
 * loop then refreshes its optimizer's variable list, or recompiles a compiled model).
 */
import * as tf from '@tensorflow/tfjs';
import { MedtrainError } from '../util/errors.js';
import { createLogger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import type { Pooling } from './backbone.js';
import { applyKerasBatchNormSemantics } from './custom-layers.js';
import { LayerBuilder } from './layers.js';
import type { PreprocessingMode } from '../core/preprocessing.js';
import { checkInputSize, getModelSpec, type ModelSpec } from './registry.js';
import { findImagenetWeights } from './weights/imagenet.js';
import { assignKerasWeights, layersWithWeights, openKerasWeights, type KerasWeightsFile, type KerasWeightsReport } from './weights/keras.js';
import { loadModel, saveModel, type LoadedModel, type SavedModelInfo, type SaveModelOptions } from './weights/tfjs-io.js';
import { stripUndefined } from '../util/objects.js';

const log = createLogger('models');

export type HeadActivation = 'sigmoid' | 'linear' | 'softmax';

export interface CreateModelOptions {
  /** Number of output classes. */
  numClasses: number;
  /** Square input size in pixels; default: the model's Keras default (224 or 299). */
  inputSize?: number;
  /**
   * null (default): seeded random initialisation. 'imagenet': Keras's ImageNet weights for the backbone,
   * from the weights folder (see findImagenetWeights). A path: a Keras weight file (.h5 legacy or
   * whole-model, .weights.h5, .keras) for the whole classifier or just its backbone (see weightsTarget).
   */
  weights?: 'imagenet' | string | null;
  /**
   * Where a weight file goes. 'auto' (default): the whole classifier when the file has as many layers
   * with weights as it, else the backbone when it has as many as that. 'model' / 'backbone' force it;
   * 'backbone' also takes a backbone out of a bigger file (a whole classifier saved with another head).
   */
  weightsTarget?: 'auto' | 'model' | 'backbone';
  /** Pair a weight file's layers by name instead of by position. */
  byName?: boolean;
  /** Units of the hidden Dense(relu) layer; 0 for none. Default 1024 (the reference head). */
  headUnits?: number;
  /** Dropout rate before the output layer; default 0. */
  dropout?: number;
  /** Output activation: 'sigmoid' (default, multi-label), 'softmax' or 'linear' (logits). */
  activation?: HeadActivation;
  /** Global pooling of the feature map: 'avg' (default) or 'max'. */
  pooling?: Pooling;
  /** Seed of the initialisers (and of dropout masks); default 0. Ignored when `rng` is given. */
  seed?: number | string;
  rng?: Rng;
  /** Train only the head for the first K epochs (see beginEpoch). Default 0. */
  warmupEpochs?: number;
  /** Folder of ImageNet weight files (default MEDTRAIN_WEIGHTS_DIR or the user's cache). */
  weightsDir?: string;
}

/** Everything needed to build the same classifier again (saved with it as metadata). */
export interface ClassifierConfig {
  model: string;
  numClasses: number;
  inputSize: number;
  headUnits: number;
  dropout: number;
  activation: HeadActivation;
  pooling: Pooling;
  seed: string;
  warmupEpochs: number;
  preprocessing: PreprocessingMode;
  /** Where the initial weights came from: 'random', 'imagenet' or a file path. */
  weights: string;
}

export interface WeightsInfo {
  source: 'random' | 'imagenet' | 'file';
  target?: 'model' | 'backbone';
  report?: KerasWeightsReport;
}

const HEAD_PREFIX = 'head_';

export class Classifier {
  readonly name: string;
  readonly spec: ModelSpec;
  /** Input (preprocessed pixels, NHWC) → probabilities (logits when activation is 'linear'). */
  readonly model: tf.LayersModel;
  /** Same input and weights → the logits before the output activation. */
  readonly logitsModel: tf.LayersModel;
  /** Same input and weights → the backbone's last feature map (for features or class activation maps). */
  readonly backbone: tf.LayersModel;
  readonly backboneLayers: tf.layers.Layer[];
  readonly headLayers: tf.layers.Layer[];
  readonly config: ClassifierConfig;
  weights: WeightsInfo;

  constructor(model: tf.LayersModel, config: ClassifierConfig, weights: WeightsInfo = { source: 'random' }) {
    this.spec = getModelSpec(config.model);
    this.name = this.spec.name;
    this.model = model;
    this.config = config;
    this.weights = weights;
    let pool: tf.layers.Layer;
    let logits: tf.layers.Layer;
    try {
      pool = model.getLayer(`${HEAD_PREFIX}pool`);
      logits = model.getLayer(`${HEAD_PREFIX}logits`);
    } catch (e) {
      throw new MedtrainError(`model '${model.name}' is not a medtrain classifier (no head_pool / head_logits layers)`, { code: 'not-a-classifier', cause: e });
    }
    this.backbone = tf.model({ inputs: model.inputs, outputs: pool.input as tf.SymbolicTensor, name: `${model.name}_backbone` });
    this.logitsModel = tf.model({ inputs: model.inputs, outputs: logits.output as tf.SymbolicTensor, name: `${model.name}_logits` });
    this.headLayers = model.layers.filter((l) => l.name.startsWith(HEAD_PREFIX));
    this.backboneLayers = model.layers.filter((l) => !l.name.startsWith(HEAD_PREFIX) && l.getClassName() !== 'InputLayer');
    applyKerasBatchNormSemantics(model);
  }

  get inputSize(): number {
    return this.config.inputSize;
  }
  get numClasses(): number {
    return this.config.numClasses;
  }
  get preprocessing(): PreprocessingMode {
    return this.config.preprocessing;
  }

  /** Whether the backbone's layers are trainable (false while frozen). */
  get backboneTrainable(): boolean {
    return this.backboneLayers.some((l) => l.trainable);
  }

  /** Freeze (false) or unfreeze (true) every backbone layer; the head stays trainable. */
  setBackboneTrainable(trainable: boolean): void {
    for (const l of this.backboneLayers) l.trainable = trainable;
  }

  /**
   * Warm-up hook, called by the training loop at the start of each epoch (0-based): the backbone is
   * frozen for epochs < warmupEpochs and trainable from then on. Returns true when that changed
   * what is trainable, so the loop refreshes its variable list (or recompiles).
   */
  beginEpoch(epoch: number): boolean {
    const want = epoch >= this.config.warmupEpochs;
    if (want === this.backboneTrainable) return false;
    this.setBackboneTrainable(want);
    log.info(`${this.name}: backbone ${want ? 'unfrozen' : 'frozen'} at epoch ${epoch}`);
    return true;
  }

  /** The variables an optimizer should update now (`optimizer.minimize(f, true, clf.trainableVariables())`). */
  trainableVariables(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Parameter counts: all, trainable now, and the backbone's. */
  countParams(): { total: number; trainable: number; backbone: number } {
    const count = (ws: tf.LayerVariable[]) => ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
    return { total: this.model.countParams(), trainable: count(this.model.trainableWeights), backbone: this.backbone.countParams() };
  }

  /** Save in the tfjs layers format (with this classifier's config, so loadClassifier rebuilds it). */
  save(dir: string, opts: SaveModelOptions = {}): Promise<SavedModelInfo> {
    return saveModel(this.model, dir, { ...opts, metadata: { ...opts.metadata, classifier: this.config } });
  }

  dispose(): void {
    this.model.dispose();
  }
}

function checkOption(ok: boolean, name: string, value: unknown, want: string): void {
  if (!ok) throw new MedtrainError(`bad model option ${name}`, { code: 'bad-model-option', column: name, value, hint: `use ${want}` });
}

/** Validate options and fill in the defaults. */
export function resolveClassifierConfig(name: string, opts: CreateModelOptions): ClassifierConfig {
  const spec = getModelSpec(name);
  const inputSize = checkInputSize(spec, opts.inputSize ?? spec.inputSize);
  const o = { headUnits: 1024, dropout: 0, activation: 'sigmoid' as HeadActivation, pooling: 'avg' as Pooling, warmupEpochs: 0, ...stripUndefined(opts), numClasses: opts.numClasses };
  checkOption(Number.isInteger(o.numClasses) && o.numClasses >= 1, 'numClasses', o.numClasses, 'an integer >= 1');
  checkOption(Number.isInteger(o.headUnits) && o.headUnits >= 0, 'headUnits', o.headUnits, 'an integer >= 0 (0: no hidden layer)');
  checkOption(typeof o.dropout === 'number' && o.dropout >= 0 && o.dropout < 1, 'dropout', o.dropout, 'a rate in [0, 1)');
  checkOption(['sigmoid', 'linear', 'softmax'].includes(o.activation), 'activation', o.activation, "'sigmoid', 'softmax' or 'linear'");
  checkOption(['avg', 'max'].includes(o.pooling), 'pooling', o.pooling, "'avg' or 'max'");
  checkOption(Number.isInteger(o.warmupEpochs) && o.warmupEpochs >= 0, 'warmupEpochs', o.warmupEpochs, 'an integer >= 0');
  checkOption(['auto', 'model', 'backbone', undefined].includes(opts.weightsTarget), 'weightsTarget', opts.weightsTarget, "'auto', 'model' or 'backbone'");
  const weights = opts.weights == null || opts.weights === 'none' || opts.weights === 'random' ? 'random' : opts.weights;
  return {
    model: spec.name,
    numClasses: o.numClasses,
    inputSize,
    headUnits: o.headUnits,
    dropout: o.dropout,
    activation: o.activation,
    pooling: o.pooling,
    seed: opts.rng ? opts.rng.seed : String(opts.seed ?? 0),
    warmupEpochs: o.warmupEpochs,
    preprocessing: spec.preprocessing,
    weights,
  };
}

/** Build the classifier's layers (seeded) as the config says; no weights loaded. */
export function buildClassifier(config: ClassifierConfig, rng: Rng, opts: { zeroBackbone?: boolean } = {}): tf.LayersModel {
  const spec = getModelSpec(config.model);
  const backbone = spec.build({ inputSize: config.inputSize, rng: opts.zeroBackbone ? null : rng.fork('backbone'), imagenetWeights: config.weights === 'imagenet' });
  const L = new LayerBuilder(rng.fork('head'));
  let x = backbone.outputs[0]!;
  x = config.pooling === 'max' ? L.globalMaxPooling2d(x, `${HEAD_PREFIX}pool`) : L.globalAveragePooling2d(x, `${HEAD_PREFIX}pool`);
  if (config.headUnits > 0) x = L.dense(x, { units: config.headUnits, activation: 'relu', name: `${HEAD_PREFIX}dense` });
  if (config.dropout > 0) x = L.dropout(x, config.dropout, { name: `${HEAD_PREFIX}dropout` });
  x = L.dense(x, { units: config.numClasses, name: `${HEAD_PREFIX}logits` });
  if (config.activation !== 'linear') x = L.activation(x, config.activation, `${HEAD_PREFIX}output`);
  return tf.model({ inputs: backbone.inputs, outputs: x, name: `${backbone.name}_classifier` });
}

/** Where a weight file goes: as asked, or by which of model and backbone has its number of weighted layers. */
function weightsTarget(file: KerasWeightsFile, clf: Classifier, opts: CreateModelOptions): 'model' | 'backbone' {
  if (opts.weightsTarget && opts.weightsTarget !== 'auto') return opts.weightsTarget;
  const n = file.layers.length;
  const nModel = layersWithWeights(clf.model).length;
  const nBackbone = layersWithWeights(clf.backbone).length;
  if (opts.byName || n === nModel) return 'model';
  if (n === nBackbone) return 'backbone';
  const last = file.layers.slice(-3).map((l) => `${l.name} ${l.weights.map((w) => `[${w.shape}]`).join(' ')}`);
  throw new MedtrainError(`the weight file holds ${n} layers with weights; this ${clf.name} classifier has ${nModel} and its backbone ${nBackbone}`, {
    code: 'weights-mismatch',
    file: file.path,
    hint:
      "a file from another architecture, or a classifier saved with another head: match headUnits to it, or take just its backbone with weightsTarget: 'backbone'. " +
      `The file's last layers: ${last.join('; ')}`,
  });
}

/**
 * Create a classifier: `createModel('DenseNet121', {numClasses: 14, weights: 'imagenet'})`.
 * Model names are case-insensitive. Weights are checked completely before any is assigned; on an
 * error nothing is left allocated.
 */
export async function createModel(name: string, opts: CreateModelOptions): Promise<Classifier> {
  const config = resolveClassifierConfig(name, opts);
  const spec = getModelSpec(config.model);
  const rng = opts.rng ?? new Rng(config.seed);
  // Find the weights before building anything, so a missing file fails fast.
  const imagenet = config.weights === 'imagenet' ? await findImagenetWeights(spec, { inputSize: config.inputSize, dir: opts.weightsDir }) : null;
  const file = imagenet ? await openKerasWeights(imagenet.path) : config.weights !== 'random' ? await openKerasWeights(config.weights) : null;
  let model: tf.LayersModel | null = null;
  try {
    model = buildClassifier(config, rng, { zeroBackbone: Boolean(imagenet) });
    const clf = new Classifier(model, config);
    if (file) {
      const target = imagenet ? 'backbone' : weightsTarget(file, clf, opts);
      const report = assignKerasWeights(target === 'model' ? clf.model : clf.backbone, file, { byName: opts.byName, prefix: target === 'backbone' && !imagenet });
      clf.weights = { source: imagenet ? 'imagenet' : 'file', target, report };
      if (report.unmatched.length) log.warn(`${report.unmatched.length} layers found nothing by name in ${file.path} and keep their initial weights: ${report.unmatched.slice(0, 10).join(', ')}`);
    }
    if (config.warmupEpochs > 0) clf.setBackboneTrainable(false);
    return clf;
  } catch (e) {
    model?.dispose();
    throw e;
  } finally {
    file?.close();
  }
}

/** Load a classifier saved with `Classifier.save` (tfjs layers format), with its extra tensors. */
export async function loadClassifier(dir: string): Promise<{ classifier: Classifier } & Omit<LoadedModel, 'model'>> {
  const { model, metadata, extraTensors } = await loadModel(dir);
  const config = metadata['classifier'] as ClassifierConfig | undefined;
  if (!config?.model) {
    model.dispose();
    tf.dispose(extraTensors.map((t) => t.tensor));
    throw new MedtrainError('the saved model has no classifier config (saved with saveModel, not Classifier.save?)', {
      code: 'not-a-classifier',
      file: dir,
      hint: 'load it with loadModel instead',
    });
  }
  return { classifier: new Classifier(model, config), metadata, extraTensors };
}
