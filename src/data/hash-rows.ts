// Hashed ids (--hash-rows): a field's raw value goes to row hash(seed, field, key) mod N of that
// field's N rows, with no key storage: nothing grows with the number of distinct values, so
// ingest memory is the encoded id columns plus a constant, however many values a field has.
//
// The key is what the format's parser makes of a cell (Criteo's log² bucket of an integer, Avazu's
// hour of day, a CSV schema's numeric bucket; the empty cell is the empty key), exactly as the exact
// vocabulary sees it, so numeric fields are bucketed first and then hashed like any other field.
// The hash runs over the key's zero-padded 32-bit words (as RowBatch stores them) in two
// independent lanes, a murmur3_x86_32 lane and an xxHash32 lane, each seeded from (seed, field)
// and finished with the key length and murmur3's fmix32; the two lanes give 53 well-mixed bits,
// taken mod N (the modulo bias is below N / 2^53).
import type { HashSpec, Vocab } from './types.js';

export type { HashSpec } from './types.js';

/** Bump when the mapping value → row changes: it is part of the model file and data cache. */
export const HASH_VERSION = 1;

/** What the user asks for; the per-field rows are fixed once the field count is known. */
export interface HashOptions {
  seed: number;
  /** One N for every field, or one per field. */
  rows?: number | number[];
  /** A total split evenly over the fields (the first fields get the remainder). */
  total?: number;
}

/** Largest rows per field: 2^31 - 1 ids in total must stay int32. */
export const MAX_HASH_ROWS = 2 ** 31 - 1;

/** Rows per field for F fields; throws naming the flag when the request does not fit. */
export function hashRowsPerField(o: HashOptions, F: number, fieldNames: string[] = []): number[] {
  let rows: number[];
  if (o.total !== undefined) {
    if (o.rows !== undefined) throw new Error('give --hash-rows or --hash-rows-total, not both');
    if (!Number.isInteger(o.total) || o.total < F) throw new Error(`--hash-rows-total ${o.total}: needs an integer of at least one row per field (${F} fields)`);
    const base = Math.floor(o.total / F), extra = o.total % F;
    rows = Array.from({ length: F }, (_, j) => base + (j < extra ? 1 : 0));
  } else if (Array.isArray(o.rows)) {
    if (o.rows.length === 1) rows = new Array<number>(F).fill(o.rows[0]);
    else if (o.rows.length !== F) {
      const names = fieldNames.length ? ` (${fieldNames.slice(0, 6).join(', ')}${F > 6 ? ', …' : ''})` : '';
      throw new Error(`--hash-rows: ${o.rows.length} values given, the data has ${F} fields${names}; give one N for all fields or one per field`);
    } else rows = o.rows.slice();
  } else if (o.rows !== undefined) rows = new Array<number>(F).fill(o.rows);
  else throw new Error('hashing needs --hash-rows or --hash-rows-total');
  rows.forEach((n, j) => {
    if (!Number.isInteger(n) || n < 1) throw new Error(`--hash-rows: field ${fieldNames[j] ?? j + 1} gets ${n} rows; every field needs a positive integer`);
  });
  const total = rows.reduce((a, b) => a + b, 0);
  if (total > MAX_HASH_ROWS) throw new Error(`--hash-rows: ${total} rows in total, more than the ${MAX_HASH_ROWS} an int32 id can address`);
  return rows;
}

/** The vocabulary of a hashed encoding: N_j rows per field and the hash spec, no keys, no OOV id. */
export function hashVocab(fieldNames: string[], spec: HashSpec): Vocab {
  const fieldOffsets: number[] = [];
  let off = 0;
  for (const n of spec.rows) {
    fieldOffsets.push(off);
    off += n;
  }
  return { fieldNames: fieldNames.slice(), fieldSizes: spec.rows.slice(), fieldOffsets, totalRows: off, hash: { ...spec, rows: spec.rows.slice() } };
}

const M1 = 0xcc9e2d51 | 0, M2 = 0x1b873593 | 0, M3 = 0xe6546b64 | 0;
const P1 = 0x9e3779b1 | 0, P2 = 0x85ebca77 | 0, P3 = 0xc2b2ae3d | 0;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Maps parsed keys to global ids: fieldOffsets[j] + hash(seed, j, key) mod rows[j]. */
export class RowHasher {
  readonly offsets: Int32Array;
  readonly rows: Float64Array;
  private readonly seedA: Int32Array;
  private readonly seedB: Int32Array;

  constructor(readonly spec: HashSpec) {
    if (spec.version !== HASH_VERSION) throw new Error(`hash version ${spec.version} is not supported (this alpt hashes with version ${HASH_VERSION})`);
    const F = spec.rows.length;
    this.rows = Float64Array.from(spec.rows);
    this.offsets = new Int32Array(F);
    this.seedA = new Int32Array(F);
    this.seedB = new Int32Array(F);
    let off = 0;
    for (let j = 0; j < F; j++) {
      this.offsets[j] = off;
      off += spec.rows[j];
      // Field index folded into both lanes' seeds: equal values of two fields land independently.
      const a = fmix32((spec.seed | 0) ^ Math.imul(j + 1, P1));
      this.seedA[j] = a;
      this.seedB[j] = fmix32(a ^ Math.imul(j + 0x3c6ef372, P3) ^ (spec.seed >>> 16));
    }
  }

  get numFields(): number {
    return this.rows.length;
  }

  /** Local row in [0, rows[j]) of the key bytes [s, e) of keys32 (s 4-aligned, zero-padded to a word). */
  local(j: number, keys32: Int32Array, s: number, e: number): number {
    let a = this.seedA[j], b = this.seedB[j];
    const end = (e + 3) >> 2;
    for (let w = s >> 2; w < end; w++) {
      const x = keys32[w];
      // murmur3_x86_32 body
      let k = Math.imul(x, M1);
      k = (k << 15) | (k >>> 17);
      a ^= Math.imul(k, M2);
      a = (a << 13) | (a >>> 19);
      a = (Math.imul(a, 5) + M3) | 0;
      // xxHash32 round
      b = (b + Math.imul(x, P2)) | 0;
      b = (b << 13) | (b >>> 19);
      b = Math.imul(b, P1);
    }
    const len = e - s;
    a = fmix32(a ^ len);
    b = fmix32(b ^ Math.imul(len, P3));
    // 53 bits: a's 32 and b's top 21.
    return ((a >>> 0) * 2097152 + (b >>> 11)) % this.rows[j];
  }

  /** Global id (field offset + local row). */
  id(j: number, keys32: Int32Array, s: number, e: number): number {
    return this.offsets[j] + this.local(j, keys32, s, e);
  }

  /** Global id of a key given as bytes (tests, tools). */
  idOfBytes(j: number, key: Uint8Array): number {
    const words = new Int32Array((key.length >> 2) + 1);
    new Uint8Array(words.buffer).set(key);
    return this.id(j, words, 0, key.length);
  }

  /**
   * Ids of a chunk of parsed rows (row-major, F fields each: keys as RowBatch lays them out) into
   * out[at…].
   */
  encodeRows(keys32: Int32Array, ends: Int32Array, rows: number, out: Int32Array, at: number): void {
    const F = this.rows.length;
    let s = 0;
    for (let i = 0; i < rows * F; i += F) {
      for (let j = 0; j < F; j++) {
        const e = ends[i + j];
        out[at + i + j] = this.offsets[j] + this.local(j, keys32, s, e);
        s = (e + 3) & ~3;
      }
    }
  }
}
