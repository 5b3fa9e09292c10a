/** Reading the README's shell blocks, for the tests that run them (test/readme.test.ts, test/package). */

export interface ShBlock {
  mark: string | null;
  lines: string[];
}

/** The README's ```sh blocks: each command line (comments and blanks dropped), and the `<!-- test: … -->` mark above it. */
export function shBlocks(text: string): ShBlock[] {
  const out: ShBlock[] = [];
  for (const m of text.matchAll(/(?:<!-- test: ([a-z]+) -->\n)?```sh\n([\s\S]*?)```/g)) {
    out.push({ mark: m[1] ?? null, lines: m[2]!.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')) });
  }
  return out;
}

/** The README's ```ts blocks, as written. */
export function tsBlocks(text: string): string[] {
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The README's example files: a code block under `<!-- file: NAME -->`, which its commands read. */
export function fileBlocks(text: string): { name: string; content: string }[] {
  return [...text.matchAll(/<!-- file: ([\w.-]+) -->\n```\w*\n([\s\S]*?)```/g)].map((m) => ({ name: m[1]!, content: m[2]! }));
}
