/**
 * Input readers: every kind of input a command accepts, turned into a stream of documents in
 * input order. Kinds are detected from the path: `-` (stdin, one document per line), a folder
 * (every `.txt` under it, recursively, sorted; parent folder = label, a top folder named
 * train/valid/test = split, as in fastai's aclImdb layout), `.csv`/`.tsv` (first row is the
 * header; `textCol`/`labelCol` by name or 0-based index), `.jsonl`/`.ndjson` (one JSON object per
 * line), or any other file as plain text (one document per file, or per line with `lineDocs`).
 *
 * The library never prints: skipped binary files become `warnings`, skipped empty documents are
 * counted in `emptySkipped`, what was inferred (the label column) is in `notes`, and the caller
 * reports them.
 */
import { stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import fg from 'fast-glob';
import { parse as parseCsv, CsvError } from 'csv-parse';
import { UlmfitError } from '../errors.js';
import {
  BinaryFileError,
  blocksToLines,
  readFileBlocks,
  readTextBlocks,
  readTextFile,
  type TextEncoding,
} from './read-text.js';

export type Split = 'train' | 'valid' | 'test';
export const SPLITS: readonly Split[] = ['train', 'valid', 'test'];

/** One document as read from an input. */
export interface Doc {
  text: string;
  /** Class name (folder name, label column or field), when the input has one. */
  label?: string;
  /** From a top folder named train/valid/test. */
  split?: Split;
  /** Where it came from: a file path, or `path:line` for line-, row- and JSONL-based inputs. */
  origin: string;
  /** The document's own id (an id column or field), with `idCol`. */
  id?: string;
}

export interface SourceOptions {
  /**
   * CSV/TSV column (name, or 0-based index) or JSONL field holding the text. Default `text`; a
   * file without it is an E_INPUT_FORMAT error listing its columns (never a guessed column).
   */
  textCol?: string;
  /** CSV/TSV column or JSONL field holding the label. Default `label` when present, else none. */
  labelCol?: string;
  /** Read no labels at all (label columns, fields and folder names are ignored). */
  noLabels?: boolean;
  /**
   * CSV/TSV column or JSONL field holding each document's id, into `Doc.id`: a name (or index)
   * that must exist, or `true` for the `id` column when there is one.
   */
  idCol?: string | true;
  /**
   * Yield blank documents too (classify prints a row for each), counted in `emptyKept` rather
   * than dropped and counted in `emptySkipped`. Blank JSONL lines and CSV lines hold no record
   * and are still no documents.
   */
  keepEmpty?: boolean;
  /** A plain text file holds one document per line (instead of one per file). */
  lineDocs?: boolean;
  /** Default utf8; latin1 accepts any bytes. */
  encoding?: TextEncoding;
  /** Folder inputs: parent folder name → label, top folder train/valid/test → split. Default true. */
  folderLabels?: boolean;
  /** What `-` reads; default process.stdin. */
  stdin?: AsyncIterable<Buffer | string>;
}

export type InputKind = 'stdin' | 'folder' | 'csv' | 'tsv' | 'jsonl' | 'text';

/** A file an input expands to, with what the cache key needs. */
export interface InputFile {
  path: string;
  /** Path relative to the folder input (folder inputs only), with `/` separators. */
  rel?: string;
  size: number;
  mtimeMs: number;
}

export interface ResolvedInput {
  kind: InputKind;
  /** As the user gave it. */
  path: string;
  /** Empty for stdin. */
  files: InputFile[];
}

function kindOfFile(path: string): InputKind {
  switch (extname(path).toLowerCase()) {
    case '.csv':
      return 'csv';
    case '.tsv':
      return 'tsv';
    case '.jsonl':
    case '.ndjson':
      return 'jsonl';
    default:
      return 'text';
  }
}

/**
 * Checks that every input exists and expands folders into their sorted `.txt` files, with sizes
 * and mtimes (for the cache key). Throws E_INPUT_MISSING for a path that does not exist.
 */
export async function resolveInputs(paths: readonly string[]): Promise<ResolvedInput[]> {
  if (paths.length === 0)
    throw new UlmfitError('E_USAGE', 'no input given', 'pass a file, a folder, or - for stdin');
  const resolved: ResolvedInput[] = [];
  for (const path of paths) {
    if (path === '-') {
      resolved.push({ kind: 'stdin', path, files: [] });
      continue;
    }
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new UlmfitError('E_INPUT_MISSING', `no such file or folder: ${path}`, 'check the path');
    if (info.isDirectory()) {
      const entries = await fg('**/*.txt', {
        cwd: path,
        onlyFiles: true,
        stats: true,
        followSymbolicLinks: true,
        caseSensitiveMatch: false,
      });
      // Sorted so that document order (and so vocab tie order) is the same on every machine.
      entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
      const files = entries.map((e) => ({
        path: join(path, ...e.path.split('/')),
        rel: e.path,
        size: e.stats!.size,
        mtimeMs: e.stats!.mtimeMs,
      }));
      resolved.push({ kind: 'folder', path, files });
    } else {
      resolved.push({
        kind: kindOfFile(path),
        path,
        files: [{ path, size: info.size, mtimeMs: info.mtimeMs }],
      });
    }
  }
  return resolved;
}

/** Label and split of a file from its path relative to a folder input: `train/pos/1.txt` → pos, train. */
export function labelFromRelPath(rel: string): { label?: string; split?: Split } {
  const parts = rel.split('/');
  if (parts.length < 2) return {};
  const top = parts[0]!;
  const split = (SPLITS as readonly string[]).includes(top) ? (top as Split) : undefined;
  if (split && parts.length === 2) return { split }; // train/1.txt: a split, no label
  return split ? { label: parts[parts.length - 2]!, split } : { label: parts[parts.length - 2]! };
}

function formatError(message: string, hint: string): UlmfitError {
  return new UlmfitError('E_INPUT_FORMAT', message, hint);
}

/**
 * The documents of a list of inputs, in input order. Iterate it once; afterwards `warnings`,
 * `emptySkipped` and `numDocs` describe what was read. Iteration throws E_INPUT_EMPTY at the end
 * if no document was found.
 */
export class DocumentSource implements AsyncIterable<Doc> {
  readonly warnings: string[] = [];
  /** What the reader inferred without being told (a default label or id column), for an info line. */
  readonly notes: string[] = [];
  emptySkipped = 0;
  /** Blank documents yielded (`keepEmpty`). */
  emptyKept = 0;
  numDocs = 0;
  /** Bytes consumed so far, against `totalBytes` (undefined when stdin is an input). */
  bytesRead = 0;
  readonly totalBytes: number | undefined;
  private readonly encoding: TextEncoding;

  constructor(
    readonly inputs: readonly ResolvedInput[],
    private readonly options: SourceOptions = {},
  ) {
    this.encoding = options.encoding ?? 'utf8';
    this.totalBytes = inputs.some((i) => i.kind === 'stdin')
      ? undefined
      : inputs.reduce((sum, i) => sum + i.files.reduce((s, f) => s + f.size, 0), 0);
  }

  /** One document at a time (convenient; `batches()` is faster for big inputs). */
  async *[Symbol.asyncIterator](): AsyncGenerator<Doc> {
    for await (const batch of this.batches()) yield* batch;
  }

  /**
   * Documents in input order, in batches (one per read block or file), with empty documents
   * already dropped. Batching keeps the per-document cost of async iteration off large inputs.
   */
  async *batches(): AsyncGenerator<Doc[]> {
    for (const input of this.inputs) {
      for await (const batch of this.readInput(input)) {
        const kept = batch.filter((doc) => !isBlank(doc.text));
        if (this.options.keepEmpty) this.emptyKept += batch.length - kept.length;
        else this.emptySkipped += batch.length - kept.length;
        this.numDocs += kept.length;
        const out = this.options.keepEmpty ? batch : kept;
        if (out.length > 0) yield out;
      }
    }
    if (this.numDocs === 0) {
      const where = this.inputs.map((i) => i.path).join(', ');
      const skipped = this.emptySkipped > 0 ? ` (${this.emptySkipped} empty skipped)` : '';
      const noTxt = this.inputs.some((i) => i.kind === 'folder' && i.files.length === 0)
        ? 'a folder must hold .txt files; '
        : '';
      throw new UlmfitError(
        'E_INPUT_EMPTY',
        `no documents in ${where}${skipped}`,
        `${noTxt}give inputs with some text`,
      );
    }
  }

  private readInput(input: ResolvedInput): AsyncGenerator<Doc[]> {
    switch (input.kind) {
      case 'stdin':
        return this.readLineDocs(
          readTextBlocks(this.options.stdin ?? process.stdin, 'stdin', this.encoding, this.counter()),
          'stdin',
        );
      case 'folder':
        return this.readFolder(input);
      case 'csv':
      case 'tsv':
        return this.skipBinary(input.path, this.readCsv(input.path, input.kind === 'tsv' ? '\t' : ','));
      case 'jsonl':
        return this.skipBinary(input.path, this.readJsonl(input.path));
      case 'text':
        return this.options.lineDocs
          ? this.skipBinary(
              input.path,
              this.readLineDocs(readFileBlocks(input.path, this.encoding, this.counter()), input.path),
            )
          : this.readFiles(input.files);
    }
  }

  private counter(): (bytes: number) => void {
    return (bytes) => {
      this.bytesRead += bytes;
    };
  }

  /** A binary file is skipped with a warning rather than failing the whole run. */
  private async *skipBinary(path: string, docs: AsyncGenerator<Doc[]>): AsyncGenerator<Doc[]> {
    try {
      yield* docs;
    } catch (err) {
      if (!(err instanceof BinaryFileError)) throw err;
      this.warnings.push(`skipped binary file ${path}`);
    }
  }

  private async *readFiles(files: readonly InputFile[], labelled = false): AsyncGenerator<Doc[]> {
    for (const file of files) {
      let text: string;
      try {
        text = await readTextFile(file.path, this.encoding);
      } catch (err) {
        if (!(err instanceof BinaryFileError)) throw err;
        this.warnings.push(`skipped binary file ${file.path}`);
        this.bytesRead += file.size;
        continue;
      }
      this.bytesRead += file.size;
      const doc: Doc = { text, origin: file.path };
      if (labelled && file.rel !== undefined) {
        Object.assign(doc, labelFromRelPath(file.rel));
        if (doc.label !== undefined)
          this.note(
            `${file.path.slice(0, file.path.length - file.rel.length - 1) || '.'}: gold labels from its folder names`,
          );
      }
      yield [doc];
    }
  }

  private readFolder(input: ResolvedInput): AsyncGenerator<Doc[]> {
    if (input.files.length === 0) this.warnings.push(`no .txt files in folder ${input.path}`);
    return this.readFiles(input.files, !this.options.noLabels && (this.options.folderLabels ?? true));
  }

  private async *readLineDocs(blocks: AsyncIterable<string>, path: string): AsyncGenerator<Doc[]> {
    for await (const lines of blocksToLines(blocks)) {
      yield lines.texts.map((text, i) => ({ text, origin: `${path}:${lines.firstLine + i}` }));
    }
  }

  private async *readJsonl(path: string): AsyncGenerator<Doc[]> {
    for await (const { texts, firstLine } of blocksToLines(
      readFileBlocks(path, this.encoding, this.counter()),
    )) {
      const docs: Doc[] = [];
      texts.forEach((text, i) => {
        // Blank lines separate nothing in JSONL: not documents, not errors.
        if (!isBlank(text)) docs.push(this.jsonlDoc(text, path, firstLine + i));
      });
      yield docs;
    }
  }

  private jsonlDoc(text: string, path: string, line: number): Doc {
    const textField = this.options.textCol ?? 'text';
    const labelField = this.options.noLabels ? undefined : this.options.labelCol;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw formatError(
        `${path}:${line} is not valid JSON`,
        'each line of a .jsonl file must be one JSON object',
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw formatError(
        `${path}:${line} is not a JSON object`,
        `each line must look like {"${textField}": "..."}`,
      );
    }
    const record = value as Record<string, unknown>;
    const body = record[textField];
    if (typeof body !== 'string') {
      const has = Object.keys(record).join(', ');
      throw formatError(
        `${path}:${line} has no string field '${textField}' (fields: ${has})`,
        'pass --text-col with the field that holds the text',
      );
    }
    const doc: Doc = { text: body, origin: `${path}:${line}` };
    const rawLabel = this.options.noLabels ? undefined : record[labelField ?? 'label'];
    if (rawLabel !== undefined && rawLabel !== null) {
      doc.label = String(rawLabel);
      if (labelField === undefined) this.note(`${path}: gold labels from its 'label' field`);
    } else if (labelField !== undefined) {
      throw formatError(
        `${path}:${line} has no field '${labelField}'`,
        'pass --label-col with the field that holds the label',
      );
    }
    const idCol = this.options.idCol;
    if (idCol !== undefined) {
      const rawId = record[idCol === true ? 'id' : idCol];
      if (rawId !== undefined && rawId !== null) doc.id = String(rawId);
      else if (idCol !== true)
        throw formatError(
          `${path}:${line} has no field '${idCol}' (fields: ${Object.keys(record).join(', ')})`,
          'pass --id-col with the field that holds the id',
        );
    }
    return doc;
  }

  private async *readCsv(path: string, delimiter: string): AsyncGenerator<Doc[]> {
    const source = Readable.from(readFileBlocks(path, this.encoding, this.counter()));
    // relax_quotes: a stray quote inside an unquoted field (common in review text) is kept as is.
    const parser = parseCsv({ delimiter, info: true, relax_quotes: true, skip_empty_lines: true });
    source.on('error', (err) => parser.destroy(err));
    source.pipe(parser);
    let textIndex = -1;
    let labelIndex = -1;
    let idIndex = -1;
    let header: string[] | undefined;
    let docs: Doc[] = [];
    try {
      for await (const row of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
        const fields = row.record;
        // info.lines is where the record ends; a quoted field may span lines.
        const line = row.info.lines - fields.reduce((n, f) => n + countNewlines(f), 0);
        if (!header) {
          header = fields;
          textIndex =
            this.columnIndex(header, this.options.textCol, path, '--text-col') ?? header.indexOf('text');
          if (textIndex < 0) {
            // Never a guessed column: column 0 of `id,body,genre` is the ids.
            throw formatError(
              `${path} has no column 'text' (columns: ${header.join(', ')})`,
              'pass --text-col with the column that holds the text (a name or a 0-based index)',
            );
          }
          labelIndex = this.options.noLabels
            ? -1
            : (this.columnIndex(header, this.options.labelCol, path, '--label-col') ??
              header.indexOf('label'));
          if (labelIndex >= 0 && this.options.labelCol === undefined)
            this.note(`${path}: gold labels from its 'label' column`);
          const idCol = this.options.idCol;
          idIndex =
            idCol === true ? header.indexOf('id') : (this.columnIndex(header, idCol, path, '--id-col') ?? -1);
          continue;
        }
        const doc: Doc = { text: fields[textIndex] ?? '', origin: `${path}:${line}` };
        if (labelIndex >= 0 && fields[labelIndex] !== undefined) doc.label = fields[labelIndex];
        if (idIndex >= 0 && fields[idIndex] !== undefined) doc.id = fields[idIndex];
        docs.push(doc);
        if (docs.length >= CSV_BATCH_ROWS) {
          yield docs;
          docs = [];
        }
      }
      if (docs.length > 0) yield docs;
    } catch (err) {
      if (err instanceof CsvError) {
        const where = (err as CsvError & { lines?: number }).lines;
        throw formatError(
          `${path}${where ? `:${where}` : ''}: ${err.message}`,
          'fix the CSV (quote fields that hold the delimiter, one field count per row)',
        );
      }
      throw err;
    } finally {
      source.destroy();
    }
  }

  /** Records an inference once per message. */
  private note(message: string): void {
    if (!this.notes.includes(message)) this.notes.push(message);
  }

  /** A column given by name (preferred) or 0-based index; undefined when not given. */
  private columnIndex(
    header: string[],
    wanted: string | undefined,
    path: string,
    flag: string,
  ): number | undefined {
    if (wanted === undefined) return undefined;
    const byName = header.indexOf(wanted);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(wanted) && Number(wanted) < header.length) return Number(wanted);
    throw formatError(
      `${path} has no column '${wanted}' (columns: ${header.join(', ')})`,
      `pass ${flag} with one of those names or a 0-based index`,
    );
  }
}

/** Rows per yielded batch: amortizes async iteration without holding much text. */
const CSV_BATCH_ROWS = 512;

/** A document with no text but whitespace: skipped (or, with `keepEmpty`, passed on as empty). */
export function isBlank(text: string): boolean {
  return !/\S/.test(text);
}

function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Resolves `paths` and opens them as one document stream. */
export async function openSources(
  paths: readonly string[],
  options: SourceOptions = {},
): Promise<DocumentSource> {
  return new DocumentSource(await resolveInputs(paths), options);
}
