/**
 * The data a new run trains on, and the benchmark it trains there. On a phantom set (the one a run
 * makes when it finds no data, or any folder makePhantom wrote, given with --data) a benchmark that
 * names no model and no image side trains the quick start: a compact DenseNet at 64 px, so that
 * `medtrain train --benchmark chexpert_CWBCE_E3_B32` finishes in minutes on a CPU. The log says so,
 * and the run's name and config.json record what it trained. Images smaller than the model's input
 * are named in the log (they are scaled up).
 */
import { readPhantomMarker } from '../../data/phantom/write.js';
import { createLogger } from '../../util/logger.js';
import type { Benchmark } from '../benchmark/benchmark.js';
import { locateData, type DataLocation } from './default-data.js';

const log = createLogger('train');

/** The quick start's model and image side (name a model or `_D<dim>`, or pass --model / --dim, to train another). */
export const PHANTOM_QUICK_START = Object.freeze({ model: 'DenseNetMini', dim: 64 });

export interface PlannedData {
  benchmark: Benchmark;
  data: DataLocation;
}

/** Where a new run's data is, and the benchmark it trains on it (see the top of this file). */
export async function planRunData(asked: Benchmark, where: { data?: string | null; phantomPatients?: number }): Promise<PlannedData> {
  let data = locateData(asked.dataset, asked.dim, where);
  const marker = data.phantom ? null : await readPhantomMarker(data.dir);
  const onPhantom = data.phantom !== null || marker !== null;
  if (!onPhantom || asked.given.has('model') || asked.given.has('dim')) {
    if (marker && marker.params.size < asked.dim) {
      log.warn(`the phantom set in ${data.dir} has images ${marker.params.size} px wide, smaller than the model's input (${asked.dim} px): they are scaled up (make a larger set with make-phantom --size, or train at _D${marker.params.size})`);
    }
    return { benchmark: asked, data };
  }
  const benchmark = asked.withOverrides(PHANTOM_QUICK_START);
  log.info(`${asked.format()} names no model and no image side: on the phantom set it trains the quick start, ${benchmark.model} at ${benchmark.dim} px, as ${benchmark.format()} (name a model or _D<dim> to train another)`);
  if (data.phantom) data = locateData(benchmark.dataset, benchmark.dim, where); // the cached set at the quick start's side
  return { benchmark, data };
}
