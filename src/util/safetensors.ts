// The safetensors container (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {str: str}},
// then the tensors back to back. alpt's checkpoints and model files use it so any safetensors
// reader (Python's `safetensors`, Rust, JS) opens them; alpt adds a CRC-32 per tensor and one over
// the header (which holds the tensor CRCs), so every byte is checked and a damaged file is refused
// naming the part that is damaged.
import { readFileSync } from 'node:fs';
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

/**
 * Reads and verifies a file written by writeSafetensors. `what` names it in messages.
 * Refuses a truncated file, a damaged header or tensor (naming it and its byte range), and files
 * without alpt's checksums (written by another tool) unless `requireChecksums` is false.
 */
export function readSafetensors(path: string, what = path, requireChecksums = true): SafetensorsFile {
  return decodeSafetensors(readFileSync(path), what, requireChecksums);
}

export function decodeSafetensors(buf: Buffer, what: string, requireChecksums = true): SafetensorsFile {
  const bad = (why: string): never => {
    throw new SafetensorsError(`${what}: ${why}`);
  };
  if (buf.length < 8) bad(`truncated: ${buf.length} bytes, too short for a header`);
  const hlen64 = buf.readBigUInt64LE(0);
  if (hlen64 > BigInt(Math.min(MAX_HEADER, buf.length - 8))) {
    bad(`header length ${hlen64} exceeds the file (${buf.length} bytes): truncated, or not a safetensors file`);
  }
  const hlen = Number(hlen64);
  const head = buf.subarray(8, 8 + hlen);
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
  const tensors: Record<string, TensorOut> = {};
  let expectEnd = 0;
  const entries: [string, any][] = Object.entries(header as Record<string, any>).filter(([k]) => k !== '__metadata__');
  for (const [name, e] of entries) {
    const dtype = e?.dtype as SafeDType;
    if (!(dtype in SIZE)) bad(`tensor ${name}: unsupported dtype ${JSON.stringify(e?.dtype)}`);
    const [s, t] = e.data_offsets as [number, number];
    if (!Number.isSafeInteger(s) || !Number.isSafeInteger(t) || t < s) bad(`tensor ${name}: bad data_offsets`);
    expectEnd = Math.max(expectEnd, t);
  }
  if (base + expectEnd > buf.length) bad(`truncated: ${buf.length} bytes, the header describes ${base + expectEnd}`);
  if (base + expectEnd < buf.length) bad(`${buf.length - base - expectEnd} unexpected bytes after the last tensor`);
  for (const [name, e] of entries) {
    const dtype = e.dtype as SafeDType;
    const [s, t] = e.data_offsets as [number, number];
    const bytes = buf.subarray(base + s, base + t);
    if (crcs[name] !== undefined) {
      const got = hex32(crc32(bytes));
      if (got !== crcs[name]) bad(`tensor ${name} (bytes ${base + s}–${base + t}) is damaged: checksum ${got}, stored ${crcs[name]}`);
    } else if (requireChecksums) bad(`tensor ${name} has no stored checksum`);
    tensors[name] = { data: view(bytes, dtype), dtype, shape: e.shape ?? [], start: base + s, end: base + t };
  }
  return { metadata, tensors, size: buf.length, headerBytes: hlen };
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
