// A small self-describing binary container for named typed arrays (checkpoints, exported models):
// magic, version, JSON header (metadata + array directory), 8-byte aligned payload, FNV-1a checksum.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './atomic.js';

const MAGIC = 'ALPTTNSR';
const VERSION = 1;

type Typed = Float32Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | Float64Array;
const CTORS = { f32: Float32Array, i32: Int32Array, u8: Uint8Array, u16: Uint16Array, u32: Uint32Array, f64: Float64Array } as const;
type DType = keyof typeof CTORS;

function dtypeOf(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'f32';
  if (a instanceof Int32Array) return 'i32';
  if (a instanceof Uint8Array) return 'u8';
  if (a instanceof Uint16Array) return 'u16';
  if (a instanceof Uint32Array) return 'u32';
  if (a instanceof Float64Array) return 'f64';
  throw new TypeError(`unsupported array type ${a.constructor.name}`);
}

export function fnv1a(bytes: Uint8Array, h = 0x811c9dc5): number {
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

export function writeTensorFile(path: string, meta: unknown, arrays: Record<string, ArrayBufferView>): void {
  const dir: { name: string; dtype: DType; offset: number; length: number }[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(arrays)) {
    const dtype = dtypeOf(a);
    dir.push({ name, dtype, offset, length: (a as Typed).length });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const payload = new Uint8Array(offset);
  Object.values(arrays).forEach((a, i) => payload.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dir[i].offset));
  const header = Buffer.from(JSON.stringify({ meta, arrays: dir }));
  const headerPad = Math.ceil((header.length + 24) / 8) * 8 - 24 - header.length;
  const pre = Buffer.alloc(24);
  pre.write(MAGIC, 0, 'latin1');
  pre.writeUInt32LE(VERSION, 8);
  pre.writeUInt32LE(header.length + headerPad, 12);
  pre.writeUInt32LE(fnv1a(payload, fnv1a(header)), 16);
  pre.writeUInt32LE(payload.length, 20);
  writeFileAtomic(path, [pre, header, Buffer.alloc(headerPad, 0x20), payload]);
}

export function readTensorFile(path: string): { meta: any; arrays: Record<string, ArrayBufferView> } {
  const buf = readFileSync(path);
  const bad = (why: string): never => {
    throw new Error(`${path}: not a valid alpt file (${why})`);
  };
  if (buf.length < 24 || buf.toString('latin1', 0, 8) !== MAGIC) bad('bad magic');
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) bad(`version ${version}, this alpt reads version ${VERSION}`);
  const hlen = buf.readUInt32LE(12);
  const sum = buf.readUInt32LE(16);
  const plen = buf.readUInt32LE(20);
  if (buf.length !== 24 + hlen + plen) bad(`truncated: ${buf.length} bytes, expected ${24 + hlen + plen}`);
  const headerBytes = buf.subarray(24, 24 + hlen);
  const payload = new Uint8Array(buf.buffer.slice(buf.byteOffset + 24 + hlen, buf.byteOffset + 24 + hlen + plen));
  let hend = headerBytes.length;
  while (hend > 0 && headerBytes[hend - 1] === 0x20) hend--;
  const trimmed = headerBytes.subarray(0, hend);
  if (fnv1a(payload, fnv1a(trimmed)) !== sum) bad('checksum mismatch: the file is corrupt');
  let header: { meta: unknown; arrays: { name: string; dtype: DType; offset: number; length: number }[] };
  try {
    header = JSON.parse(trimmed.toString());
  } catch {
    return bad('header is not JSON');
  }
  const arrays: Record<string, ArrayBufferView> = {};
  for (const e of header.arrays) {
    const C = CTORS[e.dtype];
    if (!C) bad(`unknown dtype ${e.dtype}`);
    arrays[e.name] = new C(payload.buffer, e.offset, e.length);
  }
  return { meta: header.meta, arrays };
}
