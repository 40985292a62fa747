// Raw rows → ids exactly as training encoded them: the training format's own parser turns a row
// into per-field keys (Criteo's log² buckets, Avazu's hour split, a CSV schema's buckets), and the
// model's vocabulary maps keys to ids (unseen → the field's OOV id). Records and arrays are first
// written as a line of the training format, so there is one encoding path, not two.
import type { InputSpec, Vocab, VocabKeys } from '../data/types.js';
import { makeParser, type RowParser } from '../data/formats.js';
import { BadRow, keyHash, RowBatch } from '../data/row.js';
import { KeyTable } from '../data/keytable.js';
import { RowHasher } from '../data/hash-rows.js';

/** A raw row: field → raw value, raw values in column order, or a line of the training format. */
export type RawRow = Record<string, string | number | null | undefined> | (string | number)[] | string;

/** What a caller must send: the input columns of records, in the training file's order. */
export interface InputColumns {
  /** Columns a record must have (label and ignored columns excluded). */
  required: string[];
  /** All columns of a line of the training format, in order (label included). */
  line: string[];
  /** The label column's name (optional in records). */
  label: string;
  separator: string;
}

export class RowError extends Error {
  constructor(readonly row: number, readonly field: string | null, message: string) {
    super(`row ${row}${field ? `: field ${field}` : ''}: ${message}`);
  }
}

const CRITEO_COLUMNS = ['label', ...Array.from({ length: 13 }, (_, j) => `I${j + 1}`), ...Array.from({ length: 26 }, (_, j) => `C${j + 1}`)];

/** The columns of the training format's lines. */
export function inputColumns(input: InputSpec): InputColumns {
  switch (input.format) {
    case 'criteo':
      return { required: CRITEO_COLUMNS.slice(1), line: CRITEO_COLUMNS, label: 'label', separator: '\t' };
    case 'libfm': {
      const f = Array.from({ length: input.numFields }, (_, j) => `f${j + 1}`);
      return { required: f, line: ['label', ...f], label: 'label', separator: ' ' };
    }
    case 'avazu': {
      const header = splitHeader(input.header, ',');
      return { required: header.filter((c) => c !== 'id' && c !== 'click'), line: header, label: 'click', separator: ',' };
    }
    case 'csv': {
      const s = input.schema!;
      const sep = s.delimiter ?? ',';
      const named = (c: string | number): string => (typeof c === 'number' ? (input.header ? splitHeader(input.header, sep)[c] : `c${c}`) : c);
      const used = [...s.categorical, ...(s.numeric ?? []).map((n) => n.column)].map(named);
      let line: string[];
      if (input.header) line = splitHeader(input.header, sep);
      else {
        const idx = [s.label, ...s.categorical, ...(s.numeric ?? []).map((n) => n.column)] as number[];
        line = Array.from({ length: Math.max(...idx) + 1 }, (_, i) => `c${i}`);
      }
      return { required: used, line, label: named(s.label), separator: sep };
    }
    case 'parquet': // training from Parquet records its input as csv (same keys; header = the columns)
      return inputColumns({ ...input, format: 'csv' });
  }
}

function splitHeader(header: string | undefined, sep: string): string[] {
  if (header === undefined) throw new Error('the model has no header line of its training file');
  return header.replace(/^\uFEFF/, '').split(sep);
}

export class RawEncoder {
  readonly columns: InputColumns;
  private readonly tables: KeyTable[];
  /** Hashed ids (vocab.hash): raw values are hashed as training hashed them, no tables. */
  private readonly hasher: RowHasher | null;
  private readonly oov: number[];
  private readonly offsets: number[];
  private parser: RowParser;
  private readonly batch = new RowBatch();

  /** `keys` may be null only for a hashed vocabulary. */
  constructor(readonly input: InputSpec, readonly vocab: Vocab, keys: VocabKeys | null) {
    this.columns = inputColumns(input);
    this.offsets = vocab.fieldOffsets;
    this.oov = vocab.fieldOffsets.map((o, j) => o + vocab.fieldSizes[j] - 1);
    if (vocab.hash) {
      this.hasher = new RowHasher(vocab.hash);
      this.tables = [];
    } else {
      if (!keys) throw new Error('the vocabulary has neither keys nor a hash spec');
      this.hasher = null;
      this.tables = buildTables(vocab, keys);
    }
    this.parser = this.freshParser();
  }

  get numFields(): number {
    return this.vocab.fieldSizes.length;
  }

  /** A parser in the state training's was in after the header. */
  freshParser(): RowParser {
    const p = makeParser(this.input.format, this.input.schema, this.input.numFields);
    if (p.hasHeader) p.setHeader(this.input.header!);
    return p;
  }

  /** Ids of the rows (row-major [n × fields]) and, when the rows carried labels (lines), the labels. */
  encode(rows: readonly RawRow[]): { ids: Int32Array; labels: Float32Array } {
    const F = this.numFields;
    const b = this.batch;
    b.clear();
    for (let i = 0; i < rows.length; i++) {
      const line = this.lineOf(rows[i], i);
      const buf = Buffer.from(line + '\0\0\0\0'); // slack: the Criteo parser reads a word at a time
      try {
        this.parser.parse(buf, 0, buf.length - 4, b);
      } catch (e) {
        b.drop();
        if (e instanceof BadRow) throw new RowError(i, null, e.message);
        throw e;
      }
      b.keep();
    }
    const ids = new Int32Array(rows.length * F);
    this.lookup(b, ids, 0);
    return { ids, labels: b.labels.slice(0, rows.length) };
  }

  /** Ids of a parsed batch's rows into out[at…]. */
  lookup(b: RowBatch, out: Int32Array, at: number): void {
    const F = this.numFields;
    if (b.rows > 0 && b.fields !== F) throw new Error(`rows have ${b.fields} fields, the model ${F}`);
    if (this.hasher) return this.hasher.encodeRows(b.keys32, b.ends, b.rows, out, at);
    const keys = b.keys32, ends = b.ends, h = b.hashes, tables = this.tables;
    let s = 0;
    for (let i = 0; i < b.rows * F; i += F) {
      for (let j = 0; j < F; j++) {
        const e = ends[i + j];
        const entry = tables[j].find(keys, s, e, h[i + j]);
        out[at + i + j] = entry < 0 ? this.oov[j] : this.offsets[j] + entry;
        s = (e + 3) & ~3;
      }
    }
  }

  /** A record or an array as a line of the training format; a line as it is. */
  private lineOf(row: RawRow, i: number): string {
    if (typeof row === 'string') {
      if (/[\r\n]/.test(row)) throw new RowError(i, null, 'a raw line must not contain a line break');
      return row;
    }
    const c = this.columns;
    let values: (string | number | null | undefined)[];
    if (Array.isArray(row)) {
      if (row.length === c.line.length) values = row;
      else if (row.length === c.required.length) {
        const at = new Map(c.required.map((n, k) => [n, k]));
        values = c.line.map((n) => (at.has(n) ? row[at.get(n)!] : undefined));
      } else {
        throw new RowError(i, null, `expected ${c.required.length} values (${preview(c.required)}) or ${c.line.length} with the label, got ${row.length}`);
      }
    } else if (row !== null && typeof row === 'object') {
      for (const k of Object.keys(row)) {
        if (!c.line.includes(k)) throw new RowError(i, k, `unknown field (expected ${preview(c.required)})`);
      }
      values = c.line.map((n) => row[n]);
    } else {
      throw new RowError(i, null, `expected an object, an array or a string, got ${row === null ? 'null' : typeof row}`);
    }
    const req = new Set(c.required);
    const cells = values.map((v, k) => this.cell(v, c.line[k], req.has(c.line[k]), i));
    if (this.input.format === 'libfm') return `${cells[0]} ${cells.slice(1).map((v) => `${v}:1`).join(' ')}`;
    return cells.join(c.separator);
  }

  private cell(v: unknown, name: string, required: boolean, i: number): string {
    if (v === undefined || v === null) {
      if (required) throw new RowError(i, name, 'missing');
      return name === this.columns.label ? '0' : ''; // label and ignored columns (avazu id)
    }
    let s: string;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new RowError(i, name, `${v} is not a finite number`);
      s = String(v);
    } else if (typeof v === 'string') s = v;
    else throw new RowError(i, name, `expected a string or a number, got ${Array.isArray(v) ? 'an array' : typeof v}`);
    const sep = this.columns.separator;
    if (s.includes(sep) || /[\r\n]/.test(s) || (this.input.format === 'libfm' && (/\s|:/.test(s) || s === ''))) {
      throw new RowError(i, name, `${JSON.stringify(s.length > 40 ? s.slice(0, 40) + '…' : s)} contains the format's separator${this.input.format === 'libfm' ? ', a colon or is empty' : ''}`);
    }
    return s;
  }
}

function preview(names: string[]): string {
  return names.length <= 6 ? names.join(', ') : `${names.slice(0, 3).join(', ')} … ${names.slice(-2).join(', ')}`;
}

/** Per field, a key table whose entry i is the field's i-th kept value (so entry = local id). */
function buildTables(vocab: Vocab, keys: VocabKeys): KeyTable[] {
  const tables: KeyTable[] = [];
  let scratch = new Int32Array(64);
  let k = 0;
  for (let j = 0; j < vocab.fieldSizes.length; j++) {
    const t = new KeyTable();
    const kept = vocab.fieldSizes[j] - 1;
    for (let r = 0; r < kept; r++, k++) {
      const s = k === 0 ? 0 : keys.ends[k - 1];
      const e = keys.ends[k];
      const len = e - s;
      if (scratch.length * 4 < len + 4) scratch = new Int32Array((len >> 2) + 2);
      scratch.fill(0, 0, (len >> 2) + 1);
      new Uint8Array(scratch.buffer).set(keys.bytes.subarray(s, e));
      const id = t.add(scratch, 0, len, keyHash(scratch, 0, len));
      if (id !== r) throw new Error(`vocabulary of field ${vocab.fieldNames[j]}: value #${r} repeats value #${id}`);
    }
    tables.push(t);
  }
  if (k !== keys.ends.length) throw new Error(`vocabulary holds ${keys.ends.length} values, the field sizes say ${k}`);
  return tables;
}
