// Binary columnar cache of an encoded dataset, so a second run skips parsing:
//   0 'ALPTDS' | 6 u16 version | 8 u32 meta length | 12 u32 crc32(meta + payload) | 16 f64 payload bytes | 24 zero
//   32 JSON metadata, padded to 8 | per split: labels f32[n], ids i32[n*F], each padded to 8 |
//   vocabulary keys: ends u32[k], bytes u8[…], each padded to 8.
// Little-endian (typed arrays are written as they are in memory). Written to a temp file, then renamed.
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { writeFileAtomic } from '../util/atomic.js';
import { crc32 } from '../util/checksum.js';
import { PARSER_VERSION } from './formats.js';
import type { EncodedSplit, InputSpec, Vocab, VocabKeys } from './types.js';

export const CACHE_MAGIC = 'ALPTDS';
export const CACHE_VERSION = 2;
const HEAD = 32;
const SPLITS = ['train', 'valid', 'test'] as const;
export type SplitName = (typeof SPLITS)[number];

export interface CachedData {
  vocab: Vocab;
  splits: Partial<Record<SplitName, EncodedSplit>>;
  keys: VocabKeys;
  input: InputSpec;
}

interface Meta {
  key: string;
  vocab: Vocab;
  splits: { name: SplitName; n: number; numFields: number; skipped: number }[];
  input: InputSpec;
  keyCount: number;
  keyBytes: number;
}

/**
 * Cache key: everything that changes the encoded result: the files' content (not their path, size
 * or mtime, which an edit can keep), the parsing rules' version and the options.
 */
export async function cacheKey(files: (string | undefined)[], config: unknown): Promise<string> {
  const parts = await Promise.all(files.map((f) => (f ? contentSum(f) : null)));
  return createHash('sha256').update(JSON.stringify({ v: CACHE_VERSION, parser: PARSER_VERSION, parts, config })).digest('hex').slice(0, 20);
}

/** Byte count and CRC-32 of a file's content (one reused buffer: a stream's fresh chunks cost more than the CRC). */
async function contentSum(path: string): Promise<{ bytes: number; crc32: number }> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let bytes = 0, crc = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return { bytes, crc32: crc };
      crc = crc32(buf.subarray(0, bytesRead), crc);
      bytes += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
const bytes = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export function writeCache(path: string, key: string, data: CachedData): void {
  const meta: Meta = { key, vocab: data.vocab, splits: [], input: data.input, keyCount: data.keys.ends.length, keyBytes: data.keys.bytes.length };
  const payload: Uint8Array[] = [];
  for (const name of SPLITS) {
    const s = data.splits[name];
    if (!s) continue;
    meta.splits.push({ name, n: s.n, numFields: s.numFields, skipped: s.skipped });
    for (const a of [s.labels, s.ids]) {
      payload.push(bytes(a));
      if (a.byteLength % 8) payload.push(new Uint8Array(8 - (a.byteLength % 8)));
    }
  }
  for (const a of [data.keys.ends, data.keys.bytes]) {
    payload.push(bytes(a));
    if (a.byteLength % 8) payload.push(new Uint8Array(8 - (a.byteLength % 8)));
  }
  const json = Buffer.from(JSON.stringify(meta));
  const metaBuf = Buffer.alloc(pad8(json.length), 0x20);
  json.copy(metaBuf);
  let crc = crc32(metaBuf, 0);
  let payloadBytes = 0;
  for (const p of payload) {
    crc = crc32(p, crc);
    payloadBytes += p.byteLength;
  }
  const head = Buffer.alloc(HEAD);
  head.write(CACHE_MAGIC, 0, 'latin1');
  head.writeUInt16LE(CACHE_VERSION, 6);
  head.writeUInt32LE(metaBuf.length, 8);
  head.writeUInt32LE(crc >>> 0, 12);
  head.writeDoubleLE(payloadBytes, 16);
  writeFileAtomic(path, [head, metaBuf, ...payload]);
}

/** Reads a cache file; null if absent; throws CacheError if it is damaged or stale. */
export async function readCache(path: string, key: string): Promise<CachedData | null> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  try {
    const size = (await fh.stat()).size;
    if (size < HEAD) throw new CacheError(`truncated (${size} bytes)`);
    const head = Buffer.alloc(HEAD);
    await readFully(fh, head, 0);
    if (head.toString('latin1', 0, 6) !== CACHE_MAGIC) throw new CacheError('bad magic');
    const version = head.readUInt16LE(6);
    if (version !== CACHE_VERSION) throw new CacheError(`version ${version}, expected ${CACHE_VERSION}`);
    const metaLen = head.readUInt32LE(8);
    const crcWant = head.readUInt32LE(12);
    const payloadBytes = head.readDoubleLE(16);
    if (HEAD + metaLen + payloadBytes !== size) throw new CacheError(`size ${size}, header says ${HEAD + metaLen + payloadBytes}`);
    // One aligned ArrayBuffer, so the id and label columns are zero-copy views.
    const body = new Uint8Array(new ArrayBuffer(size - HEAD));
    await readFully(fh, body, HEAD);
    if (crc32(body, 0) >>> 0 !== crcWant) throw new CacheError('checksum mismatch');
    let meta: Meta;
    try {
      meta = JSON.parse(Buffer.from(body.buffer, 0, metaLen).toString('utf8')) as Meta;
    } catch {
      throw new CacheError('bad metadata');
    }
    if (meta.key !== key) throw new CacheError('key mismatch');
    const splits: CachedData['splits'] = {};
    let off = metaLen;
    for (const s of meta.splits) {
      const labels = new Float32Array(body.buffer, off, s.n);
      off += pad8(s.n * 4);
      const ids = new Int32Array(body.buffer, off, s.n * s.numFields);
      off += pad8(s.n * s.numFields * 4);
      splits[s.name] = { n: s.n, numFields: s.numFields, ids, labels, skipped: s.skipped };
    }
    const ends = new Uint32Array(body.buffer, off, meta.keyCount);
    off += pad8(meta.keyCount * 4);
    const keyBytes = new Uint8Array(body.buffer, off, meta.keyBytes);
    off += pad8(meta.keyBytes);
    if (off !== body.length) throw new CacheError('layout does not match metadata');
    return { vocab: meta.vocab, splits, keys: { bytes: keyBytes, ends }, input: meta.input };
  } finally {
    await fh.close();
  }
}

export class CacheError extends Error {}

async function readFully(fh: import('node:fs/promises').FileHandle, into: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const chunk = Math.min(into.length - done, 1 << 30);
    const { bytesRead } = await fh.read(into, done, chunk, position + done);
    if (bytesRead === 0) throw new CacheError('truncated');
    done += bytesRead;
  }
}
