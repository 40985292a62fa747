// One checksum for every file alpt writes or trusts (data caches, checkpoints, model files):
// CRC-32 (IEEE), zlib's native implementation.
import * as zlib from 'node:zlib';
/** CRC-32 of bytes, continuing from `value` (0 to start). */
export function crc32(bytes: Uint8Array, value = 0): number {
  return zlib.crc32(bytes, value) >>> 0;
}
