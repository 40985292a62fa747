// One checksum for every file alpt writes or trusts (data caches, checkpoints, model files):
// CRC-32 (IEEE), zlib's native implementation.
import * as zlib from 'node:zlib';

type Crc = (data: Uint8Array, value?: number) => number;
const native = (zlib as unknown as { crc32?: Crc }).crc32;
let table: Int32Array | null = null;

/** CRC-32 of bytes, continuing from `value` (0 to start). */
export function crc32(bytes: Uint8Array, value = 0): number {
  // Node 20's zlib.crc32 returns 0 for an empty view of an empty ArrayBuffer, whatever the running value.
  if (bytes.length === 0) return value >>> 0;
  if (native) return native(bytes, value) >>> 0;
  // Node 20 before 20.15 has no zlib.crc32: the same polynomial, a byte at a time.
  if (!table) {
    table = new Int32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[i] = c;
    }
  }
  let c = ~value;
  for (let i = 0; i < bytes.length; i++) c = table[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

export const hex32 = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');
