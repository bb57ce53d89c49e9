import { expect } from 'vitest';
import { JSON_OUTPUTS } from '../../src/cli/json-output.js';

/**
 * Checks a command's real JSON output against its documented shape (src/cli/json-output.ts,
 * docs/json-output.md) and returns the parsed lines. `title` is the output's heading there.
 */
export function expectJsonOutput(title: string, stdout: string): unknown[] {
  const output = JSON_OUTPUTS.find((o) => o.title === title);
  if (!output) throw new Error(`no JSON output titled '${title}'`);
  const lines = stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
  if (output.form === 'object') expect(lines).toHaveLength(1);
  for (const line of lines) {
    const result = output.schema.safeParse(line);
    if (!result.success)
      throw new Error(
        `${title} output does not match its schema: ${result.error.message}\n${JSON.stringify(line).slice(0, 500)}`,
      );
  }
  return lines;
}
