// Parsed rows as key bytes per field (plus hashes), appended to reusable arrays a read chunk at a
// time, so a bad cell can reject its whole row before anything is counted, and a chunk's rows can
// be handed to another thread in one message. Keys are 4-byte aligned and zero-padded, so hashing
// and comparing go a 32-bit word at a time.
import { quoteBytes } from './excerpt.js';

/** A malformed row; the loader adds file and line number, and skips it under skipBad. */
export class BadRow extends Error {
  constructor(message: string) {
    super(message);
  }
}

/** A file that cannot be read as its format says (header, schema): never skipped. */
export class BadFile extends Error {}

/** The arrays behind a RowBatch (transferable between threads). */
export interface RowArrays {
  keys: Uint8Array;
  ends: Int32Array;
  hashes: Int32Array;
  labels: Float32Array;
}

/** The buffers to transfer when posting RowArrays to another thread. */
export function transferList(a: RowArrays): ArrayBuffer[] {
  return [a.keys.buffer, a.ends.buffer, a.hashes.buffer, a.labels.buffer] as ArrayBuffer[];
}

export class RowBatch {
  /** Key bytes; each key starts 4-byte aligned and is zero-padded to a word (see KeyTable). */
  keys!: Uint8Array;
  keys32!: Int32Array;
  /**
   * Field i (row-major over rows, then fields) is keys[start, ends[i]), where start is 0 for the
   * first and ends[i - 1] rounded up to a word otherwise: keys are stored back to back.
   */
  ends!: Int32Array;
  hashes!: Int32Array;
  labels!: Float32Array;
  /** Kept rows. */
  rows = 0;
  /** Fields per row, fixed by the first kept row (-1 before it). */
  fields = -1;
  nf = 0;
  pos = 0;
  /** The current row's label, set by the parser. */
  label = 0;
  private rowNf = 0;
  private rowPos = 0;

  constructor(arrays?: RowArrays) {
    this.adopt(arrays ?? {
      keys: new Uint8Array(1024), ends: new Int32Array(64), hashes: new Int32Array(64),
      labels: new Float32Array(64),
    });
  }

  /** Takes over (e.g. recycled) arrays and empties the batch. */
  adopt(a: RowArrays): void {
    this.keys = a.keys;
    this.keys32 = new Int32Array(a.keys.buffer, a.keys.byteOffset, a.keys.byteLength >> 2);
    this.ends = a.ends;
    this.hashes = a.hashes;
    this.labels = a.labels;
    this.clear();
  }

  arrays(): RowArrays {
    return { keys: this.keys, ends: this.ends, hashes: this.hashes, labels: this.labels };
  }

  clear(): void {
    this.rows = 0;
    this.nf = 0;
    this.pos = 0;
  }

  /** Starts a row whose keys need at most `bytes` bytes (padding included). */
  begin(bytes: number): void {
    this.rowNf = this.nf;
    this.rowPos = this.pos;
    if (this.pos + bytes > this.keys.length) this.grow(bytes);
  }

  /** Keeps the row just parsed. */
  keep(): void {
    const f = this.nf - this.rowNf;
    if (this.fields < 0) this.fields = f;
    else if (f !== this.fields) throw new Error(`internal: a row of ${f} fields after rows of ${this.fields}`);
    if (this.rows === this.labels.length) {
      const l = new Float32Array(this.labels.length * 2);
      l.set(this.labels);
      this.labels = l;
    }
    this.labels[this.rows++] = this.label;
  }

  /** Forgets the row being parsed (a bad one). */
  drop(): void {
    this.nf = this.rowNf;
    this.pos = this.rowPos;
  }

  /** Closes the current field (bytes pos..k): zero-pads it to a word and hashes it. */
  endField(k: number): void {
    const s = this.pos, keys32 = this.keys32;
    // Zero the rest of the last word (little-endian: later bytes are the high ones).
    if (k & 3) keys32[k >> 2] &= (1 << ((k & 3) << 3)) - 1;
    this.closeField(k, keyHash(keys32, s, k));
  }

  /** Records the field keys[pos, k) with its finished hash; the words are already zero-padded. */
  closeField(k: number, hash: number): void {
    const j = this.nf++;
    if (j === this.hashes.length) this.growFields();
    this.ends[j] = k;
    this.hashes[j] = hash;
    this.pos = (k + 3) & ~3;
  }

  /**
   * Pushes the field that starts at byte p and ends at the next `delim` byte or at e, reading
   * `view` four bytes at a time (the caller guarantees e + 4 <= view.byteLength); returns its end.
   * The loaded words are the key words, so finding the delimiter, copying and hashing take one
   * step per word rather than per byte.
   */
  pushDelimited(view: DataView, p: number, e: number, delim: number): number {
    const delim4 = Math.imul(delim, 0x01010101);
    const keys32 = this.keys32, k0 = this.pos;
    let k = k0, q = p, h = HASH_SEED;
    for (;;) {
      let w = view.getInt32(q, true);
      const x = w ^ delim4;
      // High bit set in the lowest byte of x that is zero (higher flags may be false positives).
      const zero = (x - 0x01010101) & ~x & 0x80808080;
      let n = zero === 0 ? 4 : (31 - Math.clz32(zero & -zero)) >> 3;
      if (q + n > e) n = e - q;
      if (n < 4) {
        if (n > 0) {
          w &= (1 << (n << 3)) - 1;
          keys32[k >> 2] = w;
          h = hashWord(h, w);
        }
        this.closeField(k + n, hashEnd(h, k + n - k0));
        return q + n;
      }
      keys32[k >> 2] = w;
      h = hashWord(h, w);
      k += 4;
      q += 4;
    }
  }
  private growFields(): void {
    const g = (a: Int32Array): Int32Array => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.ends = g(this.ends);
    this.hashes = g(this.hashes);
  }

  pushBytes(buf: Uint8Array, a: number, b: number): void {
    const keys = this.keys;
    let k = this.pos;
    for (let i = a; i < b; i++) keys[k++] = buf[i];
    this.endField(k);
  }

  /** ASCII-only strings (numbers, bucket names). */
  pushAscii(s: string): void {
    if (this.pos + s.length + 4 > this.keys.length) this.grow(s.length + 4);
    const keys = this.keys;
    let k = this.pos;
    for (let i = 0; i < s.length; i++) keys[k++] = s.charCodeAt(i) & 0xff;
    this.endField(k);
  }

  /** A non-negative integer's decimal digits, without building a string. */
  pushUint(v: number): void {
    if (v < SMALL) {
      this.keys32[this.pos >> 2] = SMALL_WORD[v];
      return this.closeField(this.pos + SMALL_LEN[v], SMALL_HASH[v]);
    }
    this.pushAscii(String(v));
  }

  private grow(extra: number): void {
    const a = new Uint8Array(((this.keys.length + extra) * 2 + 3) & ~3);
    a.set(this.keys.subarray(0, this.pos));
    this.keys = a;
    this.keys32 = new Int32Array(a.buffer);
  }
}

/**
 * Parses a label or numeric cell: a finite decimal number, spaces around it allowed; fast path
 * for one digit. Number() alone would also take '', '0x1F', 'Infinity' and overflow to ±Infinity.
 */
export function parseNumber(buf: Buffer, a: number, b: number, field: string): number {
  if (b - a === 1) {
    const c = buf[a] - 48;
    if (c >= 0 && c <= 9) return c;
  }
  const s = b - a <= MAX_NUMBER_BYTES ? buf.toString('latin1', a, b) : '';
  if (!DECIMAL.test(s)) throw new BadRow(`field ${field}: ${quoteBytes(buf, a, b)} is not a number`);
  const v = Number(s);
  if (!Number.isFinite(v)) throw new BadRow(`field ${field}: ${quoteBytes(buf, a, b)} is out of range`);
  return v;
}

/** Longer cells are not taken for numbers (nor decoded to find out). */
const MAX_NUMBER_BYTES = 400;
const DECIMAL = /^ *[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)? *$/;

/** Counts occurrences of byte c in [a, b) (for column-count messages). */
export function countByte(buf: Uint8Array, c: number, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) if (buf[i] === c) n++;
  return n;
}

// Key hash, fed one zero-padded little-endian word at a time so a parser can hash while it scans;
// the length goes in last, so "x" and "x\0" differ.
const HASH_SEED = 0x9e3779b1 | 0;
/** Hash of the key bytes [s, k) of keys32 (s 4-aligned, zero-padded to a word), as the parsers compute it. */
export function keyHash(keys32: Int32Array, s: number, k: number): number {
  const end = (k + 3) >> 2;
  let h = HASH_SEED;
  for (let w = s >> 2; w < end; w++) h = hashWord(h, keys32[w]);
  return hashEnd(h, k - s);
}
function hashWord(h: number, w: number): number {
  h = Math.imul(h ^ w, 0x85ebca6b);
  return h ^ (h >>> 13);
}
function hashEnd(h: number, len: number): number {
  return Math.imul(h ^ len, 0xc2b2ae35);
}

// Digits of 0..SMALL-1 as one zero-padded word each, with their hashes: most numeric keys are small.
const SMALL = 10000;
const SMALL_LEN = new Uint8Array(SMALL);
const SMALL_WORD = new Int32Array(SMALL);
const SMALL_HASH = new Int32Array(SMALL);
for (let v = 0; v < SMALL; v++) {
  const d = String(v);
  let w = 0;
  for (let i = 0; i < d.length; i++) w |= d.charCodeAt(i) << (8 * i);
  SMALL_LEN[v] = d.length;
  SMALL_WORD[v] = w;
  SMALL_HASH[v] = hashEnd(hashWord(HASH_SEED, w), d.length);
}
