// Line parsers per input format. Each turns one line into per-field category keys (bytes),
// following torch_ref.read_rows so vocabularies and ids match the PyTorch reference.
import type { CsvSchema, DataFormat, NumericColumn } from './types.js';
import { BadFile, BadRow, RowBatch, countByte, parseNumber } from './row.js';
import { binaryLabel, csvLabel, signedLabel } from './labels.js';
import { clip, quoteBytes } from './excerpt.js';

/** Bump whenever a parsing rule changes what a line encodes to or whether it is refused: it is part of the data cache key. */
export const PARSER_VERSION = 2;

export interface RowParser {
  /** Field names; libfm knows them only after the first row. */
  fieldNames: string[];
  /** The first line of every file is a header passed to setHeader. */
  readonly hasHeader: boolean;
  setHeader(line: string): void;
  /** Parses one line as the batch's next row (calling row.begin first), or throws BadRow. */
  parse(buf: Buffer, s: number, e: number, row: RowBatch): void;
}

export function makeParser(format: DataFormat, schema?: CsvSchema, numFields = -1): RowParser {
  switch (format) {
    case 'libfm': return new LibfmParser(numFields);
    case 'criteo': return new CriteoParser();
    case 'avazu': return new AvazuParser();
    case 'csv':
      if (!schema) throw new Error('format csv needs a schema');
      return new CsvParser(schema);
    case 'parquet': throw new Error('parquet is read by row groups (src/data/parquet.ts), not by lines');
  }
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

// ---------------------------------------------------------------- libfm
/** `label id:val ...`; label -1/0 → 0, 1 → 1; fields are token positions; the category is the id. */
class LibfmParser implements RowParser {
  readonly hasHeader = false;
  fieldNames: string[] = [];
  constructor(private numFields: number) {
    if (numFields >= 0) this.fieldNames = names(numFields);
  }
  setHeader(): void {}

  parse(buf: Buffer, s: number, e: number, row: RowBatch): void {
    row.begin(2 * (e - s) + 256);
    let p = s;
    while (p < e && isSpace(buf[p])) p++;
    let q = p;
    while (q < e && !isSpace(buf[q])) q++;
    if (q === p) throw new BadRow('field label: empty line');
    row.label = signedLabel(buf, p, q, 'label');
    let f = 0;
    for (p = q; ; p = q) {
      while (p < e && isSpace(buf[p])) p++;
      if (p >= e) break;
      q = p;
      let colon = -1;
      while (q < e && !isSpace(buf[q])) {
        if (buf[q] === 58 && colon < 0) colon = q;
        q++;
      }
      if (colon <= p || !numericBytes(buf, colon + 1, q)) {
        throw new BadRow(`field f${f + 1}: bad token ${quoteBytes(buf, p, q)} (expected id:value)`);
      }
      row.pushBytes(buf, p, colon);
      f++;
    }
    if (this.numFields < 0) {
      this.numFields = f; // the first row fixes the field count, as torch_ref does
      this.fieldNames = names(f);
    } else if (f !== this.numFields) {
      throw new BadRow(`field f${Math.min(f, this.numFields) + 1}: expected ${this.numFields} features, found ${f}`);
    }
  }
}

function names(n: number): string[] {
  return Array.from({ length: n }, (_, j) => `f${j + 1}`);
}

/** Plausible number characters, non-empty (the value of a libfm token is not used). */
function numericBytes(buf: Buffer, a: number, b: number): boolean {
  if (a >= b) return false;
  for (let i = a; i < b; i++) {
    const c = buf[i];
    if (!((c >= 48 && c <= 57) || c === 46 || c === 43 || c === 45 || c === 101 || c === 69)) return false;
  }
  return true;
}

// ---------------------------------------------------------------- criteo
const CRITEO_NAMES = [
  ...Array.from({ length: 13 }, (_, j) => `I${j + 1}`),
  ...Array.from({ length: 26 }, (_, j) => `C${j + 1}`),
];

/** label, I1–I13, C1–C26, tab-separated; I: '' stays '', v > 2 → floor(ln(v)^2), else str(int(v)). */
class CriteoParser implements RowParser {
  readonly hasHeader = false;
  fieldNames = CRITEO_NAMES.slice();
  setHeader(): void {}

  parse(buf: Buffer, s: number, e: number, row: RowBatch): void {
    row.begin(2 * (e - s) + 256);
    let q = s;
    while (q < e && buf[q] !== 9) q++;
    row.label = binaryLabel(buf, s, q, 'label');
    if (e + 4 <= buf.length) {
      // Word-wise scan: reading 4 bytes past the line end stays inside the buffer.
      const view = this.viewOf(buf);
      for (let j = 0; j < 13; j++) {
        if (q >= e) this.columns(buf, s, e);
        q = pushCriteoIntCell(row, view, buf, q + 1, e, j);
      }
      for (let j = 0; j < 26; j++) {
        if (q >= e) this.columns(buf, s, e);
        q = row.pushDelimited(view, q + 1, e, 9);
      }
    } else {
      for (let j = 0; j < 13; j++) {
        if (q >= e) this.columns(buf, s, e);
        const p = q + 1;
        q = p;
        while (q < e && buf[q] !== 9) q++;
        pushCriteoInt(row, buf, p, q, j);
      }
      const keys = row.keys;
      for (let j = 0; j < 26; j++) {
        if (q >= e) this.columns(buf, s, e);
        let p = q + 1;
        let k = row.pos;
        for (; p < e; p++) {
          const c = buf[p];
          if (c === 9) break;
          keys[k++] = c;
        }
        row.endField(k);
        q = p;
      }
    }
    if (q < e) this.columns(buf, s, e);
  }

  private view: DataView | null = null;
  private viewBuf: Buffer | null = null;
  /** A DataView of the line buffer, made again only when the reader swaps buffers. */
  private viewOf(buf: Buffer): DataView {
    if (buf !== this.viewBuf || !this.view) {
      this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.viewBuf = buf;
    }
    return this.view;
  }

  private columns(buf: Buffer, s: number, e: number): never {
    throw new BadRow(`expected 40 tab-separated columns, found ${countByte(buf, 9, s, e) + 1}`);
  }
}

/**
 * The integer cell starting at p, with its end found four bytes at a time; returns the end.
 * Cells of 1-3 plain digits (nearly all of them) are read from the word itself.
 */
function pushCriteoIntCell(row: RowBatch, view: DataView, buf: Buffer, p: number, e: number, j: number): number {
  const w = view.getInt32(p, true);
  const x = w ^ 0x09090909;
  const tab = (x - 0x01010101) & ~x & 0x80808080; // flags the first tab byte (see RowBatch.pushDelimited)
  let n = tab === 0 ? 4 : (31 - Math.clz32(tab & -tab)) >> 3;
  if (p + n > e) n = e - p;
  if (n < 4) {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const d = ((w >>> (i << 3)) & 255) - 48;
      if (d < 0 || d > 9) {
        v = -1;
        break;
      }
      v = v * 10 + d;
    }
    if (v >= 0 && n > 0) row.pushUint(LOG_SQ[v]); // as pushCriteoInt, leading zeros included
    else pushCriteoInt(row, buf, p, p + n, j);
    return p + n;
  }
  let q = p + 4;
  while (q < e && buf[q] !== 9) q++;
  pushCriteoInt(row, buf, p, q, j);
  return q;
}

/** Matches Python's str(int(v)) / floor(log(x)**2) without building strings. */
function pushCriteoInt(row: RowBatch, buf: Buffer, a: number, b: number, j: number): void {
  if (a === b) return row.endField(row.pos);
  let i = a;
  const neg = buf[a] === 45;
  if (neg || buf[a] === 43) i++;
  if (i === b) badInt(buf, a, b, j);
  let v = 0;
  let nz = -1;
  for (let p = i; p < b; p++) {
    const d = buf[p] - 48;
    if (d < 0 || d > 9) badInt(buf, a, b, j);
    v = v * 10 + d;
    if (nz < 0 && d !== 0) nz = p;
  }
  if (nz < 0) return row.pushUint(0); // "0", "-0", "000"
  if (!neg) return row.pushUint(v < LOG_SQ.length ? LOG_SQ[v] : Math.floor(logOfDigits(buf, nz, b, v) ** 2));
  // Negative: '-' plus the digits without leading zeros, exact even past 2^53.
  const keys = row.keys;
  let k = row.pos;
  keys[k++] = 45;
  for (let p = nz; p < b; p++) keys[k++] = buf[p];
  row.endField(k);
}

/**
 * ln of the decimal digits [nz, b) whose value is v; past the double range (v = Infinity) from the
 * leading digits and the digit count, as Python's math.log of a big int does.
 */
function logOfDigits(buf: Buffer, nz: number, b: number, v: number): number {
  if (v !== Infinity) return Math.log(v);
  const lead = Math.min(b - nz, 17);
  return Math.log(Number(buf.toString('latin1', nz, nz + lead))) + (b - nz - lead) * Math.LN10;
}

/** v > 2 → floor(ln(v)^2), else v; tabulated for the common small counts. */
const LOG_SQ = new Int32Array(1 << 16).map((_, v) => (v > 2 ? Math.floor(Math.log(v) ** 2) : v));

function badInt(buf: Buffer, a: number, b: number, j: number): never {
  let what = 'a number';
  try {
    parseNumber(buf, a, b, CRITEO_NAMES[j]);
    what = 'an integer';
  } catch {
    // not a number at all
  }
  throw new BadRow(`field ${CRITEO_NAMES[j]}: ${quoteBytes(buf, a, b)} is not ${what}`);
}

// ---------------------------------------------------------------- avazu
/**
 * CSV with header; `id` dropped, `click` is the label, `hour` (YYMMDDHH) becomes hour of day,
 * and weekday + is_weekend are appended (torch_ref has hour of day only).
 */
class AvazuParser implements RowParser {
  readonly hasHeader = true;
  fieldNames: string[] = [];
  private cols = 0;
  private idIdx = -1;
  private clickIdx = -1;
  private hourIdx = -1;
  private lastDate = -1;
  private lastWeekday = 0;

  setHeader(line: string): void {
    const header = line.split(',');
    this.cols = header.length;
    this.idIdx = header.indexOf('id');
    this.clickIdx = header.indexOf('click');
    this.hourIdx = header.indexOf('hour');
    if (this.clickIdx < 0 || this.hourIdx < 0) throw new BadFile(`avazu header needs columns click and hour, found ${clip(line)}`);
    this.fieldNames = header.filter((_, j) => j !== this.idIdx && j !== this.clickIdx).concat(['weekday', 'is_weekend']);
  }

  parse(buf: Buffer, s: number, e: number, row: RowBatch): void {
    row.begin(2 * (e - s) + 256);
    const keys = row.keys;
    let c = 0;
    let hourAt = -1;
    for (let p = s; ; c++) {
      let q = p;
      if (c === this.clickIdx || c === this.idIdx || c === this.hourIdx || c >= this.cols) {
        while (q < e && buf[q] !== 44) q++;
        if (c >= this.cols) this.columns(buf, s, e);
        if (c === this.clickIdx) row.label = binaryLabel(buf, p, q, 'click');
        else if (c === this.hourIdx) {
          if (q - p !== 8 || !digits(buf, p, q)) throw new BadRow(`field hour: ${quoteBytes(buf, p, q)} is not YYMMDDHH`);
          hourAt = p;
          row.pushBytes(buf, q - 2, q); // torch_ref: parts[hi][-2:]
        }
      } else {
        let k = row.pos;
        for (; q < e; q++) {
          const b = buf[q];
          if (b === 44) break;
          keys[k++] = b;
        }
        row.endField(k);
      }
      if (q >= e) break;
      p = q + 1;
    }
    if (c + 1 !== this.cols) this.columns(buf, s, e);
    const wd = this.weekday(buf, hourAt);
    row.pushUint(wd);
    row.pushUint(wd === 0 || wd === 6 ? 1 : 0);
  }

  /** Day of week (0 = Sunday) of 20YY-MM-DD; rows come sorted by hour, so cache the last date. */
  private weekday(buf: Buffer, p: number): number {
    const d = (buf[p] - 48) * 100000 + (buf[p + 1] - 48) * 10000 + (buf[p + 2] - 48) * 1000 +
      (buf[p + 3] - 48) * 100 + (buf[p + 4] - 48) * 10 + (buf[p + 5] - 48);
    if (d === this.lastDate) return this.lastWeekday;
    const yy = Math.floor(d / 10000), mm = Math.floor(d / 100) % 100, dd = d % 100;
    const date = new Date(Date.UTC(2000 + yy, mm - 1, dd));
    if (mm < 1 || mm > 12 || dd < 1 || date.getUTCDate() !== dd) {
      throw new BadRow(`field hour: ${quoteBytes(buf, p, p + 8)} is not a valid YYMMDDHH date`);
    }
    this.lastDate = d;
    this.lastWeekday = date.getUTCDay();
    return this.lastWeekday;
  }

  private columns(buf: Buffer, s: number, e: number): never {
    throw new BadRow(`expected ${this.cols} comma-separated columns, found ${countByte(buf, 44, s, e) + 1}`);
  }
}

function digits(buf: Buffer, a: number, b: number): boolean {
  for (let i = a; i < b; i++) if (buf[i] < 48 || buf[i] > 57) return false;
  return true;
}

// ---------------------------------------------------------------- generic csv
/**
 * Delimited text described by a CsvSchema: categorical columns, then numeric ones. RFC 4180 quoting
 * (as pandas writes it): a field that starts with `"` runs to the closing quote, `""` inside is one
 * quote; lines without a quoted field take the plain fast path. A quoted field cannot hold a line break.
 */
class CsvParser implements RowParser {
  readonly hasHeader: boolean;
  fieldNames: string[] = [];
  private delim: number;
  private cols = -1;
  private labelIdx = -1;
  private labelName = 'label';
  private catIdx: number[] = [];
  private numIdx: number[] = [];
  private starts = new Int32Array(64);
  private ends = new Int32Array(64);

  constructor(private schema: CsvSchema) {
    const d = schema.delimiter ?? ',';
    if (d.length !== 1 || d.charCodeAt(0) > 127) throw new Error(`csv delimiter must be one ASCII character, got ${JSON.stringify(d)}`);
    this.delim = d.charCodeAt(0);
    this.hasHeader = schema.header ?? true;
    if (!this.hasHeader) this.resolve(null);
  }

  setHeader(line: string): void {
    const header = splitCsvHeader(line, String.fromCharCode(this.delim));
    this.cols = header.length;
    try {
      this.resolve(header);
    } catch (e) {
      throw new BadFile((e as Error).message); // the loader names the file
    }
  }

  private resolve(header: string[] | null): void {
    const idx = (c: string | number): number => {
      if (typeof c === 'number') {
        if (!Number.isInteger(c) || c < 0 || (header && c >= header.length)) throw new Error(`csv schema: bad column index ${c}`);
        return c;
      }
      if (!header) throw new Error(`csv schema: column ${JSON.stringify(c)} named but the file has no header`);
      const i = header.indexOf(c);
      // BadRow: the loader adds the file (and line 1) to the message.
      if (i < 0) {
        const shown = header.slice(0, 20).map((h) => JSON.stringify(clip(h))).join(', ') + (header.length > 20 ? `, … (${header.length} columns)` : '');
        throw new BadRow(`csv schema: no column ${JSON.stringify(clip(c))} in header (found: ${shown})`);
      }
      return i;
    };
    const name = (i: number): string => (header ? header[i] : `c${i}`);
    this.labelIdx = idx(this.schema.label);
    this.labelName = name(this.labelIdx);
    this.catIdx = this.schema.categorical.map(idx);
    this.numIdx = (this.schema.numeric ?? []).map((n) => idx(n.column));
    this.fieldNames = [...this.catIdx, ...this.numIdx].map(name);
  }

  parse(buf: Buffer, s: number, e: number, row: RowBatch): void {
    row.begin(2 * (e - s) + 36 * this.numIdx.length + 256);
    let c = 0;
    let quoted = false;
    for (let p = s; ; c++) {
      if (p < e && buf[p] === 34) {
        quoted = true;
        break;
      }
      let q = p;
      while (q < e && buf[q] !== this.delim) q++;
      if (c === this.starts.length) this.growCols();
      this.starts[c] = p;
      this.ends[c] = q;
      if (q >= e) break;
      p = q + 1;
    }
    c++;
    if (quoted) {
      // Slow path: the cells, unquoted, go to a scratch buffer and are read from there.
      c = this.splitQuoted(buf, s, e);
      buf = this.qbuf;
    }
    if (this.cols < 0) this.fixColumns(c); // no header: the first row fixes the column count
    if (c !== this.cols) throw new BadRow(`expected ${this.cols} columns, found ${c}`);
    row.label = csvLabel(buf, this.starts[this.labelIdx], this.ends[this.labelIdx], this.labelName, this.schema.labelThreshold);
    for (const i of this.catIdx) row.pushBytes(buf, this.starts[i], this.ends[i]);
    const numeric = this.schema.numeric ?? [];
    for (let j = 0; j < numeric.length; j++) {
      const i = this.numIdx[j];
      const a = this.starts[i], b = this.ends[i];
      if (a === b) row.endField(row.pos); // empty cell: its own category ''
      else row.pushAscii(numericKey(parseNumber(buf, a, b, this.fieldNames[this.catIdx.length + j]), numeric[j]));
    }
  }

  private fixColumns(c: number): void {
    const top = Math.max(this.labelIdx, ...this.catIdx, ...this.numIdx);
    if (top >= c) throw new BadFile(`csv schema: column index ${top}, but the first row has ${c} columns`);
    this.cols = c;
  }

  private qbuf = Buffer.alloc(256);

  /** Splits a line with quoted fields into this.qbuf (unescaped cells); returns the column count. */
  private splitQuoted(buf: Buffer, s: number, e: number): number {
    if (this.qbuf.length < e - s) this.qbuf = Buffer.alloc(2 * (e - s));
    const out = this.qbuf, d = this.delim;
    let k = 0, c = 0, p = s;
    for (;; c++) {
      if (c === this.starts.length) this.growCols();
      this.starts[c] = k;
      if (p < e && buf[p] === 34) {
        p++;
        for (;;) {
          if (p >= e) throw new BadRow(`column ${c + 1}: unterminated quoted field (a line break inside quotes is not supported)`);
          if (buf[p] === 34) {
            if (p + 1 < e && buf[p + 1] === 34) {
              out[k++] = 34;
              p += 2;
              continue;
            }
            p++;
            break;
          }
          out[k++] = buf[p++];
        }
        if (p < e && buf[p] !== d) throw new BadRow(`column ${c + 1}: ${quoteBytes(buf, p, Math.min(e, p + 10))} after a closing quote (expected the delimiter)`);
      } else {
        while (p < e && buf[p] !== d) out[k++] = buf[p++];
      }
      this.ends[c] = k;
      if (p >= e) break;
      p++;
    }
    return c + 1;
  }

  private growCols(): void {
    const s = new Int32Array(this.starts.length * 2);
    s.set(this.starts);
    this.starts = s;
    const t = new Int32Array(this.ends.length * 2);
    t.set(this.ends);
    this.ends = t;
  }
}

/** A header line split on the delimiter, RFC 4180 quotes removed (`"a,b"` is one name, `""` a quote). */
export function splitCsvHeader(line: string, delim: string): string[] {
  if (!line.includes('"')) return line.split(delim);
  const out: string[] = [];
  let cur = '', i = 0, inQuotes = false, fieldStart = true;
  while (i < line.length) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i += 2; continue; }
      if (ch === '"') { inQuotes = false; i++; continue; }
      cur += ch;
    } else if (ch === '"' && fieldStart) {
      inQuotes = true;
    } else if (ch === delim) {
      out.push(cur);
      cur = '';
      fieldStart = true;
      i++;
      continue;
    } else {
      cur += ch;
    }
    fieldStart = false;
    i++;
  }
  out.push(cur);
  return out;
}

/** Category key of a numeric cell: bucket index, or a rule (identity by default). */
export function numericKey(v: number, spec: NumericColumn): string {
  if (spec.buckets) {
    const bs = spec.buckets;
    let lo = 0, hi = bs.length; // count of boundaries <= v
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (bs[m] <= v) lo = m + 1;
      else hi = m;
    }
    return 'b' + lo;
  }
  switch (spec.rule ?? 'identity') {
    case 'criteo': return v > 2 ? String(Math.floor(Math.log(v) ** 2)) : String(v);
    case 'log2': return v < 1 ? String(Math.floor(v)) : 'L' + Math.floor(Math.log2(v));
    case 'identity': return String(v);
  }
}
