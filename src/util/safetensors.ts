// The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {str: str}},
// then the tensors back to back. alpt's checkpoints and model files use it so any safetensors
// reader (Python's `safetensors`, Rust, JS) opens them; alpt adds a CRC-32 per tensor and one over
// the header (which holds the tensor CRCs), so every byte is checked and a damaged file is refused
// naming the part that is damaged.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';
import { crc32, hex32 } from './checksum.js';

export type SafeDType = 'F64' | 'F32' | 'F16' | 'I32' | 'U32' | 'U16' | 'U8' | 'I64';
const SIZE: Record<SafeDType, number> = { F64: 8, I64: 8, F32: 4, I32: 4, U32: 4, F16: 2, U16: 2, U8: 1 };

export interface TensorIn {
  data: ArrayBufferView;
  /** Default: the array's natural dtype (Uint16Array → U16; pass F16 for half floats). */
  dtype?: SafeDType;
  /** Default: [length]. */
  shape?: number[];
}

export interface TensorOut {
  data: ArrayBufferView;
  dtype: SafeDType;
  shape: number[];
  /** Byte range of the tensor in the file. */
  start: number;
  end: number;
}

const HEADER_CRC_KEY = 'alpt.header_crc32';
const TENSOR_CRC_KEY = 'alpt.tensor_crc32';
const ZERO_CRC = '00000000';
/** Refuse absurd header lengths before allocating (a corrupt length field). */
const MAX_HEADER = 1 << 30;

function naturalDType(a: ArrayBufferView): SafeDType {
  if (a instanceof Float32Array) return 'F32';
  if (a instanceof Float64Array) return 'F64';
  if (a instanceof Int32Array) return 'I32';
  if (a instanceof Uint32Array) return 'U32';
  if (a instanceof Uint16Array) return 'U16';
  if (a instanceof Uint8Array) return 'U8';
  if (a instanceof BigInt64Array) return 'I64';
  throw new TypeError(`safetensors: unsupported array type ${a.constructor.name}`);
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Header + payload chunks of a safetensors file with alpt's checksums in its metadata. */
export function encodeSafetensors(tensors: Record<string, ArrayBufferView | TensorIn>, metadata: Record<string, string>): Uint8Array[] {
  // Largest elements first: every tensor then starts aligned to its element size (safetensors
  // allows no gaps between tensors), so readers can view the bytes in place.
  const list = Object.entries(tensors).map(([name, t], order) => {
    const tin: TensorIn = ArrayBuffer.isView(t) ? { data: t } : t;
    const dtype = tin.dtype ?? naturalDType(tin.data);
    const n = tin.data.byteLength / SIZE[dtype];
    return { name, order, dtype, shape: tin.shape ?? [n], bytes: bytesOf(tin.data) };
  });
  list.sort((a, b) => SIZE[b.dtype] - SIZE[a.dtype] || a.order - b.order);
  const header: Record<string, unknown> = {};
  const crcs: Record<string, string> = {};
  let off = 0;
  for (const t of list) {
    const count = t.shape.reduce((s, d) => s * d, 1);
    if (count * SIZE[t.dtype] !== t.bytes.byteLength) {
      throw new Error(`safetensors: tensor ${t.name}: shape [${t.shape}] of ${t.dtype} does not match ${t.bytes.byteLength} bytes`);
    }
    crcs[t.name] = hex32(crc32(t.bytes));
  }
  header.__metadata__ = { ...metadata, [TENSOR_CRC_KEY]: JSON.stringify(crcs), [HEADER_CRC_KEY]: ZERO_CRC };
  for (const t of list) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + t.bytes.byteLength] };
    off += t.bytes.byteLength;
  }
  let json = JSON.stringify(header);
  const pad = (8 - ((8 + Buffer.byteLength(json)) % 8)) % 8;
  const head = Buffer.from(json + ' '.repeat(pad));
  const at = headerCrcAt(head);
  head.write(hex32(crc32(head)), at, 'latin1');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(head.length));
  return [len, head, ...list.map((t) => t.bytes)];
}

export function writeSafetensors(path: string, tensors: Record<string, ArrayBufferView | TensorIn>, metadata: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Byte position of the header CRC's 8 hex digits in the header. */
function headerCrcAt(head: Buffer): number {
  const key = `"${HEADER_CRC_KEY}":"`;
  const i = head.indexOf(key);
  return i < 0 ? -1 : i + key.length;
}

export class SafetensorsError extends Error {}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  tensors: Record<string, TensorOut>;
  /** Total bytes of the file. */
  size: number;
  headerBytes: number;
}

/** What reading a file may do beyond verifying it. */
export interface ReadOptions {
  /**
   * Arrays to read tensors straight into, by name (when the byte length matches): a multi-GB table
   * is then streamed from disk into its own storage, with no second copy in memory.
   */
  into?: Record<string, ArrayBufferView>;
  /** Only the header (metadata and tensor list, its checksum verified); no tensor is read. */
  headerOnly?: boolean;
}

const READ_CHUNK = 64 << 20;

/**
 * Reads and verifies a file written by writeSafetensors. `what` names it in messages.
 * Refuses a truncated file, a damaged header or tensor (naming it and its byte range), and files
 * without alpt's checksums (written by another tool) unless `requireChecksums` is false.
 * The file is streamed tensor by tensor (any size; each tensor's CRC computed as it is read).
 */
export function readSafetensors(path: string, what = path, requireChecksums = true, opts: ReadOptions = {}): SafetensorsFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const readAt = (dst: Uint8Array, pos: number): void => {
      let off = 0;
      while (off < dst.byteLength) {
        const n = readSync(fd, dst, off, Math.min(READ_CHUNK, dst.byteLength - off), pos + off);
        if (n <= 0) throw new SafetensorsError(`${what}: truncated while reading bytes ${pos}–${pos + dst.byteLength}`);
        off += n;
      }
    };
    const lenBuf = Buffer.alloc(Math.min(8, size));
    readAt(lenBuf, 0);
    const h = parseHeader(lenBuf, size, what, requireChecksums, (hlen) => {
      const head = Buffer.alloc(hlen);
      readAt(head, 8);
      return head;
    });
    const tensors: Record<string, TensorOut> = {};
    if (!opts.headerOnly) {
      for (const e of h.entries) {
        const nbytes = e.end - e.start;
        const want = opts.into?.[e.name];
        const dst = want && want.byteLength === nbytes ? bytesOf(want) : new Uint8Array(new ArrayBuffer(nbytes));
        // read in chunks, checksumming as we go
        let crc = 0;
        for (let off = 0; off < nbytes; off += READ_CHUNK) {
          const part = dst.subarray(off, Math.min(nbytes, off + READ_CHUNK));
          readAt(part, h.base + e.start + off);
          if (h.crcs[e.name] !== undefined) crc = crc32(part, crc);
        }
        checkTensorCrc(h, e, hex32(crc), what, requireChecksums);
        tensors[e.name] = { data: want && dst.buffer === want.buffer ? want : view(dst, e.dtype), dtype: e.dtype, shape: e.shape, start: h.base + e.start, end: h.base + e.end };
      }
    }
    return { metadata: h.metadata, tensors, size, headerBytes: h.base - 8 };
  } finally {
    closeSync(fd);
  }
}

interface HeaderEntry { name: string; dtype: SafeDType; shape: number[]; start: number; end: number }
interface ParsedHeader { metadata: Record<string, string>; entries: HeaderEntry[]; crcs: Record<string, string>; base: number }

/** Parses and verifies the header; `readHead(hlen)` gives its bytes (after the 8-byte length). */
function parseHeader(
  first8: Uint8Array, size: number, what: string, requireChecksums: boolean, readHead: (hlen: number) => Buffer,
): ParsedHeader {
  const bad = (why: string): never => {
    throw new SafetensorsError(`${what}: ${why}`);
  };
  if (size < 8 || first8.length < 8) bad(`truncated: ${size} bytes, too short for a header`);
  const hlen64 = Buffer.from(first8.buffer, first8.byteOffset, 8).readBigUInt64LE(0);
  if (hlen64 > BigInt(Math.min(MAX_HEADER, size - 8))) {
    bad(`header length ${hlen64} exceeds the file (${size} bytes): truncated, or not a safetensors file`);
  }
  const hlen = Number(hlen64);
  const head = readHead(hlen);
  let header: any;
  try {
    header = JSON.parse(head.toString('utf8'));
  } catch (e) {
    return bad(`header (bytes 8–${8 + hlen}) is not valid JSON: damaged, or not a safetensors file (${(e as Error).message.slice(0, 80)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('header is not a JSON object');
  const metadata: Record<string, string> = header.__metadata__ ?? {};
  const stored = metadata[HEADER_CRC_KEY];
  if (stored !== undefined) {
    const at = headerCrcAt(head);
    const copy = Buffer.from(head);
    if (at >= 0) copy.write(ZERO_CRC, at, 'latin1');
    const got = hex32(crc32(copy));
    if (at < 0 || got !== stored) bad(`header (bytes 8–${8 + hlen}) is damaged: checksum ${got}, stored ${stored}`);
  } else if (requireChecksums) {
    bad('no alpt checksum in the header: not written by alpt, or from an older version');
  }
  let crcs: Record<string, string> = {};
  if (metadata[TENSOR_CRC_KEY]) crcs = JSON.parse(metadata[TENSOR_CRC_KEY]);
  const base = 8 + hlen;
  const entries: HeaderEntry[] = [];
  let expectEnd = 0;
  for (const [name, e] of Object.entries(header as Record<string, any>)) {
    if (name === '__metadata__') continue;
    const dtype = e?.dtype as SafeDType;
    if (!(dtype in SIZE)) bad(`tensor ${name}: unsupported dtype ${JSON.stringify(e?.dtype)}`);
    const [s, t] = (e.data_offsets ?? []) as [number, number];
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(t) || t < s) bad(`tensor ${name}: bad data_offsets`);
    expectEnd = Math.max(expectEnd, t);
    entries.push({ name, dtype, shape: e.shape ?? [], start: s, end: t });
  }
  if (base + expectEnd > size) bad(`truncated: ${size} bytes, the header describes ${base + expectEnd}`);
  if (base + expectEnd < size) bad(`${size - base - expectEnd} unexpected bytes after the last tensor`);
  return { metadata, entries, crcs, base };
}

function checkTensorCrc(h: ParsedHeader, e: HeaderEntry, got: string, what: string, requireChecksums: boolean): void {
  const stored = h.crcs[e.name];
  if (stored !== undefined) {
    if (got !== stored) {
      throw new SafetensorsError(`${what}: tensor ${e.name} (bytes ${h.base + e.start}–${h.base + e.end}) is damaged: checksum ${got}, stored ${stored}`);
    }
  } else if (requireChecksums) throw new SafetensorsError(`${what}: tensor ${e.name} has no stored checksum`);
}

export function decodeSafetensors(buf: Buffer, what: string, requireChecksums = true): SafetensorsFile {
  const h = parseHeader(buf.subarray(0, 8), buf.length, what, requireChecksums, (hlen) => buf.subarray(8, 8 + hlen));
  const tensors: Record<string, TensorOut> = {};
  for (const e of h.entries) {
    const bytes = buf.subarray(h.base + e.start, h.base + e.end);
    checkTensorCrc(h, e, h.crcs[e.name] !== undefined ? hex32(crc32(bytes)) : '', what, requireChecksums);
    tensors[e.name] = { data: view(bytes, e.dtype), dtype: e.dtype, shape: e.shape, start: h.base + e.start, end: h.base + e.end };
  }
  return { metadata: h.metadata, tensors, size: buf.length, headerBytes: h.base - 8 };
}

/** A typed view of the bytes (copied when they are not aligned to the element size). */
function view(bytes: Uint8Array, dtype: SafeDType): ArrayBufferView {
  const size = SIZE[dtype];
  const b = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = b.byteLength / size;
  switch (dtype) {
    case 'F64': return new Float64Array(b.buffer, b.byteOffset, n);
    case 'F32': return new Float32Array(b.buffer, b.byteOffset, n);
    case 'I32': return new Int32Array(b.buffer, b.byteOffset, n);
    case 'U32': return new Uint32Array(b.buffer, b.byteOffset, n);
    case 'I64': return new BigInt64Array(b.buffer, b.byteOffset, n);
    case 'F16':
    case 'U16': return new Uint16Array(b.buffer, b.byteOffset, n);
    case 'U8': return new Uint8Array(b.buffer, b.byteOffset, n);
  }
}
