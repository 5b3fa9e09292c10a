/**
 * The benchmark name: one word for one experiment, in the convention of the reference Keras chest
 * X-ray codebase (`DenseNet121_Chexpert_CWBCE_L1Normed_E5_B32_C0_N12_AugAffine_sharp21_U75_…`).
 *
 * The token table (tokens.ts) is the grammar: one row per token, in the order tokens stand in a
 * name. Reading a name (`parseName`), writing one (`formatName`), the one-line hint of every name
 * error, `train --help` and the README's grammar table (`grammarTable`) are all derived from it.
 * Each row's values are read by the grammar of the concept's owner (labels, intensity transforms,
 * augmentations, losses, …).
 *
 * Keywords are read case-insensitively. `formatName` writes the canonical name: fixed spellings, and
 * every optional token whose value is the default left out (`full` writes them all, reference
 * style); the canonical name of a parsed name parses back to the same fields.
 */
import type { IntensityTransform } from '../../data/image/intensity.js';
import { parseUncertainty } from '../../data/labels/uncertainty.js';
import { datasetOf } from '../../data/tables/detect.js';
import { lossOf } from '../../losses/names.js';
import { MedtrainError } from '../../util/errors.js';
import { classCount, DEFAULTS, lookupModel, type BenchmarkFields } from './fields.js';
import { HEAD, TOKENS } from './tokens.js';

/** The whole grammar in one line (every name error's hint). */
export const GRAMMAR_LINE = `${HEAD.syntax}${TOKENS.map((r) => (r.required ? r.syntax : `[_${r.syntax}]${r.repeats ? '…' : ''}`))
  .join('_')
  .replace(/_\[_/g, '[_')}`;

const HINT = `a benchmark name reads ${GRAMMAR_LINE}, tokens in that order; e.g. chexpert_CWBCE_E3_B32`;

interface Token {
  text: string;
  lower: string;
  /** 0-based offset in the name. */
  at: number;
}

function nameError(name: string, tok: { text: string; at: number }, message: string, expected: string, code = 'bad-benchmark-name'): MedtrainError {
  const caret = `${' '.repeat(tok.at)}${'^'.repeat(Math.max(1, tok.text.length))}`;
  return new MedtrainError(`benchmark name: ${message}; expected ${expected}\n    ${name}\n    ${caret}`, { code, column: tok.at + 1, value: tok.text, hint: HINT });
}

function tokenize(name: string): Token[] {
  const trimmed = name.trim();
  if (!trimmed) throw nameError(name, { text: '', at: 0 }, 'the name is empty', 'a name such as chexpert_CWBCE_E3_B32');
  const toks: Token[] = [];
  let at = name.indexOf(trimmed);
  for (const text of trimmed.split('_')) {
    if (!text) throw nameError(name, { text: '_', at: Math.max(0, at - 1) }, 'empty token (two underscores, or one at an end)', 'a token between underscores');
    if (!/^[A-Za-z0-9-]+$/.test(text)) throw nameError(name, { text, at }, `'${text}' has characters other than letters, digits and '-'`, 'letters and digits');
    toks.push({ text, lower: text.toLowerCase(), at });
    at += text.length + 1;
  }
  return toks;
}

/** Model and tag from the tokens before the dataset: `Xception-2` is Xception tagged 2, as `Xception_2` is. */
function readHead(name: string, head: Token[], models: readonly string[]): Partial<BenchmarkFields> {
  if (!head.length) return {};
  const first = head[0]!;
  let model = lookupModel(first.lower, models);
  let dashTag: string | null = null;
  for (let i = first.text.lastIndexOf('-'); !model && i > 0; i = first.text.lastIndexOf('-', i - 1)) {
    model = lookupModel(first.text.slice(0, i), models);
    if (model) dashTag = first.text.slice(i + 1);
  }
  if (!model) throw nameError(name, first, `unknown model '${first.text}'`, `a model (${models.join(', ')}) or the dataset`, 'unknown-model');
  const tag = [...(dashTag ? [dashTag] : []), ...head.slice(1).map((t) => t.text)].join('_');
  return { model, ...(tag && { modelTag: tag }) };
}

/**
 * Read a name into the fields it gives (the others take their defaults). Throws a MedtrainError that
 * points at the token that cannot be read (column, value, a caret under it).
 */
export function parseName(name: string, models: readonly string[]): Partial<BenchmarkFields> {
  const toks = tokenize(name);
  const di = toks.findIndex((t) => datasetOf(t.lower) !== undefined);
  if (di < 0) {
    const li = toks.findIndex((t) => lossOf(t.lower) !== undefined);
    const at = li > 0 ? toks[li - 1]! : toks[0]!;
    throw nameError(name, at, `no dataset in the name ('${at.text}' is not one)`, 'a dataset: chexpert or chestxray14 (any case)');
  }
  const f: Record<string, unknown> = { ...readHead(name, toks.slice(0, di), models), dataset: datasetOf(toks[di]!.lower) };
  const filled = new Map<number, Token>();
  let cursor = 0;
  for (const t of toks.slice(di + 1)) {
    const ri = TOKENS.findIndex((r) => r.match(t.lower));
    const missing = TOKENS.slice(cursor, ri < 0 ? cursor + 1 : ri).find((r) => r.required);
    if (missing) {
      const rule = missing;
      if (ri < 0 || ri > TOKENS.indexOf(rule)) {
        const message = rule.field === 'loss' && ri < 0 ? `unknown loss '${t.text}'` : `'${t.text}' is not ${rule.expect.replace(/ \(.*$/, '')}`;
        throw nameError(name, t, message, rule.expect);
      }
    }
    const expected = TOKENS.slice(cursor).map((r) => r.expect).join('; ') || 'the end of the name';
    if (ri < 0) throw nameError(name, t, `cannot read '${t.text}'`, expected);
    const rule = TOKENS[ri]!;
    if (ri < cursor && !(rule.repeats && ri === cursor - 1)) {
      if (filled.has(ri)) throw nameError(name, t, `'${t.text}' repeats '${filled.get(ri)!.text}'`, expected);
      const later = [...filled.entries()].filter(([k]) => k > ri).sort((a, b) => a[0] - b[0])[0]![1];
      throw nameError(name, t, `'${t.text}' is out of order (it belongs before '${later.text}')`, expected);
    }
    let value: unknown;
    try {
      value = rule.read(t.text, t.lower);
    } catch (e) {
      if (!(e instanceof MedtrainError)) throw e;
      throw nameError(name, t, e.code === 'bad-token' ? e.problem : `${e.problem} ('${t.text}')`, rule.expect);
    }
    if (rule.repeats) {
      const list = (f[rule.field] ??= []) as IntensityTransform[];
      if (list.some((x) => x.kind === (value as IntensityTransform).kind)) throw nameError(name, t, `transform named twice ('${t.text}')`, rule.expect);
      list.push(value as IntensityTransform);
    } else f[rule.field] = value;
    if (!filled.has(ri)) filled.set(ri, t);
    cursor = ri + 1;
  }
  const end = toks.at(-1)!;
  const unfilled = TOKENS.slice(cursor).find((r) => r.required);
  if (unfilled) throw nameError(name, { text: '', at: end.at + end.text.length }, `the name ends before ${unfilled.expect.replace(/ \(.*$/, '')}`, unfilled.expect);
  const ui = TOKENS.findIndex((r) => r.field === 'uncertainty');
  const uTok = filled.get(ui);
  if (uTok) {
    const n = classCount((f.classes as BenchmarkFields['classes'] | undefined) ?? DEFAULTS.classes);
    try {
      f.uncertainty = parseUncertainty(uTok.text, n);
    } catch (e) {
      if (!(e instanceof MedtrainError)) throw e;
      throw nameError(name, uTok, e.problem, `an encoding whose zeros + ones equal the number of classes (${n})`);
    }
  }
  return f as Partial<BenchmarkFields>;
}

/** The name of some fields: canonical (defaults left out), or every token with `full`. */
export function formatName(b: BenchmarkFields, full = false): string {
  const parts: string[] = [];
  if (full || b.model !== DEFAULTS.model || b.modelTag !== null) parts.push(b.model);
  if (b.modelTag !== null) parts.push(b.modelTag);
  parts.push(b.dataset);
  for (const r of TOKENS) parts.push(...r.write(b, full));
  return parts.join('_');
}

/** The grammar as a Markdown table (the README's grammar section and `train --help`). */
export function grammarTable(): string {
  const rows = [...HEAD.rows.map((r) => ({ ...r, required: r.syntax === 'Dataset' })), ...TOKENS.map((r) => ({ syntax: r.syntax, meaning: r.meaning, example: r.example, required: !!r.required }))];
  return [
    `\`${GRAMMAR_LINE}\``,
    '',
    'Tokens are joined by `_` in this order; keywords are read in any case; optional tokens left out take their defaults.',
    '',
    '| token | | meaning | example |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.syntax.replace(/\|/g, '\\|')}\` | ${r.required ? 'required' : 'optional'} | ${r.meaning} | \`${r.example}\` |`),
  ].join('\n');
}
