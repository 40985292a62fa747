// One parsed row as key bytes per field (plus hashes), written into a reused scratch buffer,
// so a bad cell can reject the whole row before anything is counted. Keys are 4-byte aligned and
// zero-padded, so hashing and comparing go a 32-bit word at a time.

/** A malformed row; the loader adds file and line number. */
export class BadRow extends Error {
  constructor(message: string) {
    super(message);
  }
}

export class Row {
  /** Key bytes; each key starts 4-byte aligned and is zero-padded to a word (see KeyTable). */
  keys: Uint8Array = new Uint8Array(1024);
  keys32: Int32Array = new Int32Array(this.keys.buffer);
  /** Key j is keys[starts[j], ends[j]). */
  starts: Int32Array = new Int32Array(64);
  ends: Int32Array = new Int32Array(64);
  hashes: Int32Array = new Int32Array(64);
  nf = 0;
  pos = 0;
  label = 0;

  /** Starts a row whose keys need at most `bytes` bytes (padding included). */
  reset(bytes: number): void {
    if (bytes > this.keys.length) {
      this.keys = new Uint8Array(((bytes * 2) + 3) & ~3);
      this.keys32 = new Int32Array(this.keys.buffer);
    }
    this.nf = 0;
    this.pos = 0;
  }

  /** Closes the current field (bytes pos..k): zero-pads it to a word and hashes it. */
  endField(k: number): void {
    const j = this.nf++;
    if (j === this.hashes.length) this.growFields();
    const s = this.pos, keys32 = this.keys32;
    // Zero the rest of the last word (little-endian: later bytes are the high ones).
    if (k & 3) keys32[k >> 2] &= (1 << ((k & 3) << 3)) - 1;
    const end = (k + 3) >> 2;
    let h = Math.imul(k - s + 1, 0x9e3779b1);
    for (let w = s >> 2; w < end; w++) {
      h = Math.imul(h ^ keys32[w], 0x85ebca6b);
      h ^= h >>> 13;
    }
    this.starts[j] = s;
    this.ends[j] = k;
    this.hashes[j] = h;
    this.pos = end << 2;
  }

  private growFields(): void {
    const g = (a: Int32Array): Int32Array => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.starts = g(this.starts);
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
      const keys = this.keys;
      const k = this.pos, n = SMALL_LEN[v];
      for (let i = 0; i < n; i++) keys[k + i] = SMALL_BYTES[v * 4 + i];
      return this.endField(k + n);
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

/** Parses a label or numeric cell; fast path for plain digits. */
export function parseNumber(buf: Buffer, a: number, b: number, field: string): number {
  if (b - a === 1) {
    const c = buf[a] - 48;
    if (c >= 0 && c <= 9) return c;
  }
  const s = buf.toString('latin1', a, b);
  const v = s.trim() === '' ? NaN : Number(s);
  if (Number.isNaN(v)) throw new BadRow(`field ${field}: ${JSON.stringify(buf.toString('utf8', a, b))} is not a number`);
  return v;
}

/** Counts occurrences of byte c in [a, b) (for column-count messages). */
export function countByte(buf: Uint8Array, c: number, a: number, b: number): number {
  let n = 0;
  for (let i = a; i < b; i++) if (buf[i] === c) n++;
  return n;
}

// Digits of 0..SMALL-1, precomputed: most numeric keys are small.
const SMALL = 10000;
const SMALL_LEN = new Uint8Array(SMALL);
const SMALL_BYTES = new Uint8Array(SMALL * 4);
for (let v = 0; v < SMALL; v++) {
  const d = String(v);
  for (let i = 0; i < d.length; i++) SMALL_BYTES[v * 4 + i] = d.charCodeAt(i);
  SMALL_LEN[v] = d.length;
}
