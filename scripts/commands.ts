/**
 * The `medtrain` commands, each one file in scripts/ of the same name, and the line that says what
 * it does: `medtrain --help` lists them, and each command's own --help starts with its line.
 */
export const COMMANDS = {
  train: 'Train a benchmark into a run folder: checkpoints every epoch, best/, history, TensorBoard events, predictions and per-class metrics on val and test, summary.json.',
  evaluate: "Score a run folder's model on its val or test split (--run), or any model's prediction files: per-class and macro / micro / weighted AUROC, AP, AUPRC, thresholds, bootstrap intervals, DeLong.",
  predict: "Probabilities and thresholded labels of a run's model for images (files or folders).",
  reevaluate: "Evaluate every saved epoch of a run on val and test: an epoch table (CSV + JSON) and the best epoch by the run's monitor.",
  batch: 'Run the benchmarks a batch file lists (names, or a product of field values over a base name), N at once, into one folder with one results table; run again to continue.',
  sweep: 'Search benchmark fields for the best validation metric: grid, random or TPE sampling, median or ASHA pruning; every trial a run, trials.csv and sweep.json; run again to continue.',
  ensemble: 'Combine finished runs (mean, weighted by validation AUROC, or stacking) into an ensemble folder that evaluate and predict take as a run.',
  explain: "Heatmaps of where a run's model looks (Grad-CAM, Grad-CAM++, class-selective relevance maps): an overlay PNG and the raw map per image and class.",
  'inspect-data': 'What a dataset holds: rows, patients, studies, views, split sizes, per-class counts after encoding, and every skipped row or file.',
  'make-phantom': 'Write the deterministic synthetic chest X-ray set in CheXpert format.',
  models: 'List the registered models: parameters without the top, default input size, preprocessing, ImageNet weight file.',
  doctor: 'List the engines this machine has and measure training throughput on each.',
  setup: 'Set up an optional engine in this project: `medtrain setup tensorflow [--gpu]` builds the native TensorFlow engine from the TensorFlow wheel on PyPI; `medtrain setup webgpu` installs WebGPU (Dawn).',
} as const;

export type CommandName = keyof typeof COMMANDS;
