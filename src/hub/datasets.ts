/**
 * A freshly extracted fastai dataset → the inputs ulmfit's readers take (data/sources.ts), done
 * once at pull time in the not-yet-renamed folder (catalog.ts says which layout is which):
 * headerless CSVs become JSONL with {"text", "label"} (the CSV is removed: the JSONL holds all of
 * it), imdb_sample's texts.csv is split by its is_valid column. Streaming, so WikiText-103's and
 * Amazon's hundreds of MB pass through in constant memory.
 */
import { createReadStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parse as parseCsv } from 'csv-parse';
import { UlmfitError } from '../errors.js';
import type { DatasetLayout } from './catalog.js';

/** Writes lines to a file in large appends (one write per ~1 MB, not one per row). */
class LineWriter {
  private pending: string[] = [];
  private size = 0;
  private constructor(private readonly handle: FileHandle) {}

  static async create(path: string): Promise<LineWriter> {
    return new LineWriter(await open(path, 'w'));
  }

  async line(text: string): Promise<void> {
    this.pending.push(text);
    this.size += text.length;
    if (this.size > 1 << 20) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.handle.write(this.pending.join('\n') + '\n');
    this.pending = [];
    this.size = 0;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

/** The rows of a CSV file, one string array each (quoted fields may span lines). */
function csvRows(path: string): AsyncIterable<string[]> {
  const parser = parseCsv({ relax_quotes: true, relax_column_count: true, skip_empty_lines: true });
  const source = createReadStream(path);
  source.on('error', (err) => parser.destroy(err));
  return source.pipe(parser) as AsyncIterable<string[]>;
}

function formatError(path: string, message: string): UlmfitError {
  return new UlmfitError(
    'E_INPUT_FORMAT',
    `${path}: ${message}`,
    'the archive is not laid out as fastai publishes it: check the mirror (ULMFIT_MIRROR), or remove the folder and pull again',
  );
}

/** The Zhang et al. CSVs write a newline inside a field as the two characters `\n`. */
function unescapeNewlines(text: string): string {
  return text.replace(/\\n/g, '\n');
}

/** Class names for 1-based class indexes: `labelNames`, else classes.txt, else the index itself. */
function classNames(root: string, labelNames: readonly string[] | undefined): readonly string[] | undefined {
  if (labelNames) return labelNames;
  const classes = join(root, 'classes.txt');
  if (!existsSync(classes)) return undefined;
  return readFileSync(classes, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

async function convertHeaderless(
  root: string,
  file: string,
  textFields: number,
  names: readonly string[] | undefined,
): Promise<void> {
  const path = join(root, file);
  if (!existsSync(path)) throw formatError(path, 'missing');
  const out = await LineWriter.create(join(root, basename(file, '.csv') + '.jsonl'));
  try {
    for await (const row of csvRows(path)) {
      const index = Number(row[0]);
      if (!Number.isInteger(index) || row.length < 1 + textFields)
        throw formatError(
          path,
          `a row does not start with a class index and ${textFields} text field(s): ${JSON.stringify(row).slice(0, 80)}`,
        );
      const label = names?.[index - 1] ?? String(index);
      const text = row
        .slice(1, 1 + textFields)
        .map((field) => unescapeNewlines(field).trim())
        .filter((field) => field !== '')
        .join('\n\n');
      await out.line(JSON.stringify({ text, label }));
    }
  } finally {
    await out.close();
  }
  rmSync(path);
}

async function convertTextCsv(root: string, file: string): Promise<void> {
  const path = join(root, file);
  if (!existsSync(path)) throw formatError(path, 'missing');
  const out = await LineWriter.create(join(root, basename(file, '.csv') + '.jsonl'));
  try {
    for await (const row of csvRows(path)) await out.line(JSON.stringify({ text: row[0] ?? '' }));
  } finally {
    await out.close();
  }
  rmSync(path);
}

async function splitByColumn(
  root: string,
  layout: Extract<DatasetLayout, { kind: 'csv-with-split' }>,
): Promise<void> {
  const path = join(root, layout.file);
  if (!existsSync(path)) throw formatError(path, 'missing');
  const train = await LineWriter.create(join(root, 'train.jsonl'));
  const valid = await LineWriter.create(join(root, 'valid.jsonl'));
  try {
    let header: string[] | undefined;
    let columns: { text: number; label: number; valid: number } | undefined;
    for await (const row of csvRows(path)) {
      if (!header) {
        header = row;
        columns = {
          text: header.indexOf(layout.textColumn),
          label: header.indexOf(layout.labelColumn),
          valid: header.indexOf(layout.validColumn),
        };
        if (Object.values(columns).some((i) => i < 0))
          throw formatError(
            path,
            `expected columns ${layout.labelColumn}, ${layout.textColumn}, ${layout.validColumn}; found ${header.join(', ')}`,
          );
        continue;
      }
      const line = JSON.stringify({ text: row[columns!.text] ?? '', label: row[columns!.label] ?? '' });
      // pandas writes booleans as True/False
      await (/^(true|1)$/i.test(row[columns!.valid] ?? '') ? valid : train).line(line);
    }
  } finally {
    await train.close();
    await valid.close();
  }
}

/** Rewrites the extracted dataset in `root` (see the file comment). */
export async function prepareDataset(root: string, layout: DatasetLayout): Promise<void> {
  switch (layout.kind) {
    case 'folders':
      return;
    case 'csv-with-split':
      return splitByColumn(root, layout);
    case 'csv-no-header': {
      const names = classNames(root, layout.labelNames);
      for (const file of layout.files) await convertHeaderless(root, file, layout.textFields, names);
      return;
    }
    case 'text-csv':
      for (const file of layout.files) await convertTextCsv(root, file);
      return;
  }
}
