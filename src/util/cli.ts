/**
 * What every script shares: flag parsing with errors that name the flag and list the known ones,
 * the common flags (--engine, --json, --log-level, --help), and a main wrapper that prints user
 * mistakes without a stack trace and exits (Dawn's GPU object would otherwise keep Node alive).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MedtrainError, isMedtrainError } from './errors.js';
import { setLogLevel, type LogLevel } from './logger.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean;
  /** One line for --help. */
  help: string;
  /** Shown in --help as the value placeholder. */
  value?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

/** The flag of the commands that run a model: which engine. */
export const ENGINE_FLAG = {
  engine: { type: 'string', value: 'E', help: 'engine: auto, tensorflow, webgpu, wasm or cpu (or MEDTRAIN_ENGINE)' },
} satisfies FlagSpecs;

/** The flags of the commands that run many trainings (batch, sweep): where, on what data, how many at once. */
export const RUNS_FLAGS = {
  ...ENGINE_FLAG,
  data: { type: 'string', value: 'DIR', help: 'the dataset folder (default: as medtrain train chooses)' },
  out: { type: 'string', value: 'DIR', help: 'the folder: new, empty, or this one (to continue it)' },
  parallel: { type: 'string', value: 'N', help: 'runs at once, each its own process (default 1)' },
  runner: { type: 'string', value: 'R', help: 'where the runs go: local (default)' },
} satisfies FlagSpecs;

export const COMMON_FLAGS = {
  json: { type: 'boolean', help: 'print the result as JSON on stdout' },
  'log-level': { type: 'string', value: 'L', help: 'debug, info, warn, error or silent (or MEDTRAIN_LOG_LEVEL)' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} satisfies FlagSpecs;

export interface ParsedCli<F extends FlagSpecs> {
  flags: { [K in keyof F]: F[K]['type'] extends 'boolean' ? boolean | undefined : F[K]['multiple'] extends true ? string[] | undefined : string | undefined } & {
    json?: boolean;
    'log-level'?: string;
    help?: boolean;
  };
  positionals: string[];
}

export function usage(command: string, summary: string, specs: FlagSpecs, positionals = ''): string {
  const all: FlagSpecs = { ...specs, ...COMMON_FLAGS };
  const rows = Object.entries(all).map(([name, s]) => {
    const left = `  ${s.short ? `-${s.short}, ` : ''}--${name}${s.type === 'string' ? ` ${s.value ?? 'VALUE'}` : ''}`;
    return `${left.padEnd(30)} ${s.help}${s.default !== undefined ? ` (default: ${s.default})` : ''}`;
  });
  return `usage: medtrain ${command} [flags]${positionals ? ` ${positionals}` : ''}\n\n${summary}\n\n${rows.join('\n')}\n`;
}

/** Parse argv against the script's flags plus the common ones. Unknown flags are errors. */
export function parseCli<F extends FlagSpecs>(command: string, specs: F, argv: string[], opts: { positionals?: boolean } = {}): ParsedCli<F> {
  const all: FlagSpecs = { ...specs, ...COMMON_FLAGS };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, s] of Object.entries(all)) {
    options[name] = { type: s.type, ...(s.short && { short: s.short }), ...(s.multiple && { multiple: true }), ...(s.default !== undefined && { default: s.default as never }) };
  }
  checkFlagValues(all, argv);
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: opts.positionals ?? false });
  } catch (e) {
    const msg = (e as Error).message;
    const m = /'(-{1,2}[^']+)'/.exec(msg);
    const known = Object.keys(all).map((k) => `--${k}`).join(', ');
    throw new MedtrainError(`${command}: ${msg.split('.')[0]}`, {
      code: 'bad-flag',
      ...(m && { value: m[1] }),
      hint: `known flags: ${known}; see medtrain ${command} --help`,
    });
  }
  const flags = parsed.values as ParsedCli<F>['flags'];
  if (flags['log-level']) setLogLevel(parseLogLevel(flags['log-level']));
  return { flags, positionals: parsed.positionals };
}

/**
 * A flag that takes a value but has none after it: at the end of the line, or followed by a word
 * starting with '-' (another flag, or a negative number, which parseArgs reads as a flag and calls
 * "ambiguous"). The error names the flag and says how to write it: `--epochs=-5` for a value that
 * starts with '-'.
 */
function checkFlagValues(specs: FlagSpecs, argv: readonly string[]): void {
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return; // the rest are positionals
    const name = arg.startsWith('--') ? arg.slice(2) : /^-[^-]$/.test(arg) ? byShort.get(arg.slice(1)) : undefined;
    const spec = name !== undefined ? specs[name] : undefined;
    if (!spec || spec.type !== 'string' || arg.includes('=')) continue;
    const flag = `--${name}`;
    const placeholder = `${flag} ${spec.value ?? 'VALUE'}`;
    const next = argv[i + 1];
    if (next === undefined) {
      throw new MedtrainError(`${flag} needs a value`, { code: 'bad-flag', column: flag, hint: `write ${placeholder}` });
    }
    if (next.startsWith('-') && next !== '-') {
      const other = next.startsWith('--') ? next.slice(2).split('=')[0]! : byShort.get(next.slice(1));
      if (other !== undefined && other in specs) {
        throw new MedtrainError(`${flag} needs a value (the next word, ${next}, is a flag)`, { code: 'bad-flag', column: flag, hint: `write ${placeholder}` });
      }
      throw new MedtrainError(`${flag} needs a value: '${next}' starts with '-', which reads as a flag`, { code: 'bad-flag', column: flag, value: next, hint: `write it as ${flag}=${next}` });
    }
    i++; // the value
  }
}

function parseLogLevel(v: string): LogLevel {
  const ok = ['debug', 'info', 'warn', 'error', 'silent'];
  if (!ok.includes(v)) throw new MedtrainError('unknown log level', { code: 'bad-flag', column: '--log-level', value: v, hint: `use one of ${ok.join(', ')}` });
  return v as LogLevel;
}

/** Parse a number flag, or say which flag and value were wrong. */
export function numberFlag(name: string, value: string | undefined, opts: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const bad = !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min) || (opts.max !== undefined && n > opts.max);
  if (bad) {
    const range = [opts.min !== undefined ? `>= ${opts.min}` : '', opts.max !== undefined ? `<= ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new MedtrainError(`--${name} needs ${opts.integer ? 'an integer' : 'a number'}${range ? ` ${range}` : ''}`, { code: 'bad-flag', column: `--${name}`, value });
  }
  return n;
}

/**
 * Run a script's main. A MedtrainError prints as one clear message (or JSON with --json) and
 * exits 2 (130 when it says the run was interrupted); anything else is a bug and prints its stack,
 * exit 1. Always exits explicitly. A command started with an IPC channel (a batch's or sweep's run)
 * exits at once when the process that started it goes away: its work resumes from its checkpoints
 * when that one is started again, and never runs twice at once.
 */
export function runMain(main: () => Promise<number | void>): void {
  if (process.send && process.connected) process.on('disconnect', () => process.exit(130));
  const wantsJson = process.argv.includes('--json');
  main().then(
    (code) => exitAfterFlush(typeof code === 'number' ? code : 0),
    (e: unknown) => {
      if (isMedtrainError(e)) {
        if (wantsJson) process.stdout.write(`${JSON.stringify(e.toJSON())}\n`);
        process.stderr.write(`medtrain: ${e.message}\n`);
        // An interrupted run (Ctrl-C) exits as an interrupted process does.
        exitAfterFlush(e.code === 'interrupted' ? 130 : 2);
      } else {
        process.stderr.write(`medtrain: unexpected error (a bug; please report it with this trace)\n${(e as Error)?.stack ?? String(e)}\n`);
        exitAfterFlush(1);
      }
    },
  );
}

function exitAfterFlush(code: number): void {
  // Let stdout drain before exiting (pipes are asynchronous in Node).
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}
