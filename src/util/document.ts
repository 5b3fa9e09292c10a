/**
 * Reading a JSON or YAML document a user wrote (a sweep spec, a batch file) or medtrain wrote (a
 * sweep's state): a file that cannot be read or parsed is an error naming the file, the line and
 * the column. YAML is read when the name ends in .yaml or .yml, JSON otherwise.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { MedtrainError } from './errors.js';

/** Line and column (1-based) of a character offset. */
function place(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Parse a document's text; `file` names it in errors. */
export function parseDocument(text: string, file: string): unknown {
  if (/\.ya?ml$/i.test(file)) {
    try {
      return parseYaml(text, { prettyErrors: false });
    } catch (e) {
      if (!(e instanceof YAMLParseError)) throw e;
      const at = e.linePos?.[0];
      throw new MedtrainError(`not valid YAML: ${e.message.split('\n')[0]}`, { code: 'bad-document', file, ...(at && { line: at.line, column: at.col }), cause: e });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    const at = m ? place(text, Number(m[1])) : text.trim() === '' ? { line: 1, column: 1 } : null;
    throw new MedtrainError(`not valid JSON: ${(e as Error).message.replace(/ in JSON at position \d+.*$/, '')}`, {
      code: 'bad-document',
      file,
      ...(at && { line: at.line, column: at.column }),
      hint: /\.json$/i.test(file) ? 'fix the JSON there' : 'write JSON, or YAML in a file named .yaml or .yml',
      cause: e,
    });
  }
}

/** Read and parse a document file. */
export async function readDocument(file: string, what = 'file'): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new MedtrainError(`cannot read the ${what}`, { code: 'no-file', file, hint: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'check the path' : (e as Error).message, cause: e });
  }
  return parseDocument(text, file);
}
