/**
 * Writes the benchmark-name grammar table (src/training/benchmark/name.ts, the one token table) into
 * README.md between `<!-- benchmark-grammar -->` and `<!-- /benchmark-grammar -->`.
 * test/training/benchmark/grammar.test.ts fails while the README's copy differs. Run: npx tsx tools/update-readme-grammar.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchmarkGrammar } from 'medtrain';

const file = join(import.meta.dirname, '..', 'README.md');
const text = readFileSync(file, 'utf8');
const block = /(<!-- benchmark-grammar -->\n)[\s\S]*?(\n<!-- \/benchmark-grammar -->)/;
if (!block.test(text)) throw new Error('README.md has no <!-- benchmark-grammar --> block');
writeFileSync(file, text.replace(block, (_m, open: string, close: string) => `${open}${benchmarkGrammar()}${close}`));
process.stdout.write('README.md: benchmark grammar updated\n');
