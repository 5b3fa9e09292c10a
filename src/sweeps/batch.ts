/**
 * Batches (`medtrain batch FILE`): many benchmarks from one file, run into one folder, as the
 * reference codebase ran its definitions files. A batch file (JSON, or YAML) lists benchmark names
 * (`benchmarks`), or a product of field values over a base name (`base` and `product`: every
 * combination), or both; `train` adds flags to every run. Each benchmark runs as `medtrain train`
 * (runner.ts) into B/<name>/, at most `parallel` at once. Run again, a batch skips the runs that
 * finished, resumes the ones that stopped, and starts the rest. B/results.csv and B/results.json
 * hold one row per benchmark, rewritten as each one ends.
 */
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { Benchmark } from '../training/benchmark/benchmark.js';
import type { RunSummary } from '../training/run/store.js';
import { toCsv } from '../util/csv.js';
import { MedtrainError } from '../util/errors.js';
import { exists, writeFileAtomic } from '../util/fs.js';
import { createLogger } from '../util/logger.js';
import { cannotStart, jobError, pool, prepareRuns, runTrain, type RunsOptions } from './runner.js';
import type { Params, ParamValue } from './space.js';
import { baseBenchmark, benchmarkAt, checkKeys, extraTrainFlags, fieldFlags, fieldOf, readSpec, specError, withValues, type SpecSource } from './spec.js';

const log = createLogger('batch');

/** A batch file as an object. */
export interface BatchSpec {
  benchmarks?: string[];
  base?: string;
  product?: Record<string, unknown[]>;
  train?: Record<string, string | number | boolean>;
}

export interface BatchRow {
  name: string;
  /** completed (this time), finished (before: skipped), failed, or not run (stopped before it started). */
  status: 'completed' | 'finished' | 'failed' | 'not run';
  valMacroAuroc: number | null;
  testMacroAuroc: number | null;
  bestEpoch: number | null;
  seconds: number | null;
  run: string;
  error: string | null;
}

export interface BatchResult {
  dir: string;
  rows: BatchRow[];
}

interface Entry {
  benchmark: Benchmark;
  /** `medtrain train` flags that make it. */
  flags: string[];
}

/** The benchmarks a batch file makes, each once, in the file's order. */
export async function readBatch(spec: string | BatchSpec): Promise<{ src: SpecSource; entries: Entry[]; train: string[] }> {
  const src = await readSpec(spec as string | Record<string, unknown>, 'batch file');
  checkKeys(src, ['benchmarks', 'base', 'product', 'train'], 'batch file');
  const entries: Entry[] = [];
  const list = src.raw.benchmarks;
  if (list !== undefined) {
    if (!Array.isArray(list)) throw specError(src, 'benchmarks', 'needs a list of benchmark names', list);
    list.forEach((name: unknown, i) => entries.push({ benchmark: benchmarkAt(src, `benchmarks[${i}]`, name), flags: ['--benchmark', String(name)] }));
  }
  if (src.raw.product !== undefined || src.raw.base !== undefined) {
    const base = baseBenchmark(src);
    const product = src.raw.product ?? {};
    if (typeof product !== 'object' || product === null || Array.isArray(product)) throw specError(src, 'product', 'needs an object of fields, each with a list of values', product, 'as "product": {"learningRate": [1e-3, 1e-4], "batchSize": [16, 32]}');
    const axes = Object.entries(product as Record<string, unknown>).map(([key, values]) => {
      const field = fieldOf(src, 'product', key);
      if (!Array.isArray(values) || values.length === 0) throw specError(src, `product.${key}`, 'needs a non-empty list of values', values);
      return [field, values as ParamValue[]] as const;
    });
    let combos: Params[] = [{}];
    for (const [field, values] of axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [field]: v })));
    for (const c of combos) entries.push({ benchmark: withValues(src, 'product', base, c), flags: ['--benchmark', base.name, ...fieldFlags(c)] });
  }
  if (!entries.length) throw specError(src, 'benchmarks', 'the batch names no benchmark', null, 'list "benchmarks": [names], or give "base" and "product"');
  const seen = new Set<string>();
  const unique = entries.filter((e) => {
    if (seen.has(e.benchmark.name)) {
      log.warn(`${e.benchmark.name} is in the batch twice; it runs once`);
      return false;
    }
    seen.add(e.benchmark.name);
    return true;
  });
  return { src, entries: unique, train: extraTrainFlags(src) };
}

function rowOf(name: string, run: string, status: BatchRow['status'], s: RunSummary | null, error: string | null = null): BatchRow {
  return {
    name,
    status,
    valMacroAuroc: s?.val.macro_auroc ?? null,
    testMacroAuroc: s?.test?.macro_auroc ?? null,
    bestEpoch: s?.bestEpoch ?? null,
    seconds: s?.seconds ?? null,
    run,
    error,
  };
}

/** Run a batch (see the top of this file). Resolves with every row; a failed run is a row, not an error. */
export async function runBatch(spec: string | BatchSpec, o: RunsOptions): Promise<BatchResult> {
  const { entries, train } = await readBatch(spec);
  const { dir, parallel, data, common } = await prepareRuns(o, 'results.json', 'batch');
  const rows: BatchRow[] = entries.map((e) => rowOf(e.benchmark.name, join(dir, e.benchmark.name), 'not run', null));
  let writing = Promise.resolve();
  const save = () => {
    const csv = toCsv(rows.map((r) => ({ ...r, valMacroAuroc: r.valMacroAuroc ?? '', testMacroAuroc: r.testMacroAuroc ?? '', bestEpoch: r.bestEpoch ?? '', seconds: r.seconds === null ? '' : r.seconds.toFixed(1), error: r.error ?? '' })), ['name', 'status', 'valMacroAuroc', 'testMacroAuroc', 'bestEpoch', 'seconds', 'run', 'error']);
    const json = `${JSON.stringify({ rows }, null, 1)}\n`;
    writing = writing.then(() => writeFileAtomic(join(dir, 'results.csv'), csv)).then(() => writeFileAtomic(join(dir, 'results.json'), json));
    return writing;
  };

  // What finished before is read back; the first run still to start is checked (--dry-run) before any starts.
  const todo: number[] = [];
  for (const [i, e] of entries.entries()) {
    const run = rows[i]!.run;
    if (await exists(join(run, 'summary.json'))) rows[i] = rowOf(e.benchmark.name, run, 'finished', JSON.parse(await readFile(join(run, 'summary.json'), 'utf8')) as RunSummary);
    else todo.push(i);
  }
  await save();
  const first = todo[0];
  if (first !== undefined) {
    const why = await cannotStart([...entries[first]!.flags, ...data, ...train, ...common], dir);
    if (why) throw new MedtrainError(`${entries[first]!.benchmark.name} cannot start: ${why}`, { code: 'bad-spec', hint: 'fix the batch file (its names, product or train flags) or the data folder' });
  }
  log.info(`batch of ${entries.length} benchmark(s) in ${dir}: ${entries.length - todo.length} finished before, ${todo.length} to run, ${parallel} at once`);
  await pool(
    todo,
    parallel,
    async (i) => {
      const e = entries[i]!;
      const run = rows[i]!.run;
      const resuming = await exists(join(run, 'config.json'));
      log.info(`${resuming ? 'resuming' : 'starting'} ${e.benchmark.name}`);
      const r = await runTrain({ args: [...(resuming ? ['--resume', run] : [...e.flags, ...data, ...train, '--out', run]), ...common], ...(o.signal && { signal: o.signal }) });
      rows[i] = r.summary ? rowOf(e.benchmark.name, run, 'completed', r.summary) : rowOf(e.benchmark.name, run, o.signal?.aborted ? 'not run' : 'failed', null, jobError(r));
      log.info(`${e.benchmark.name}: ${rows[i]!.status}${r.summary ? `, val macro AUROC ${String(r.summary.val.macro_auroc?.toFixed(4))}` : `: ${rows[i]!.error}`}`);
      await save();
    },
    o.signal,
  );
  await save();
  await writing;
  return { dir, rows };
}
