// Packed signed b-bit codes (b = 1..8). A row of `dim` codes takes rowBytes = ceil(dim·b/8) bytes;
// code i occupies bits [i·b, i·b+b) of the row's little-endian bit stream (bit k lives in byte k>>3
// at position k&7), so codes straddle bytes for b = 3, 5, 6, 7. Stored offset, u = q + 2^(b-1) in
// [0, 2^b-1], so packing is plain shifting with no sign handling.
import { roundHalfAway, roundingUniform } from './round.js';

export function rowBytes(dim: number, bits: number): number {
  checkBits(bits);
  return Math.ceil((dim * bits) / 8);
}

export function checkBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 1 || bits > 8) throw new RangeError(`bits must be an integer in 1..8, got ${bits}`);
}

/** Pack integer codes q[qOff..qOff+dim) (already in range) into codes[cOff..cOff+rowBytes). */
export function packRow(
  q: ArrayLike<number>, qOff: number, dim: number, bits: number, codes: Uint8Array, cOff: number,
): void {
  const off = 1 << (bits - 1);
  let acc = 0;
  let nb = 0;
  let o = cOff;
  for (let i = 0; i < dim; i++) {
    acc |= (q[qOff + i] + off) << nb;
    nb += bits;
    if (nb >= 8) {
      codes[o++] = acc & 255;
      acc >>>= 8;
      nb -= 8;
    }
  }
  if (nb > 0) codes[o] = acc & 255;
}

/** Unpack a row of codes into signed integers out[outOff..outOff+dim). */
export function unpackRow(
  codes: Uint8Array, cOff: number, dim: number, bits: number, out: Int32Array | Float32Array | number[], outOff: number,
): void {
  const off = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  for (let i = 0, k = 0; i < dim; i++, k += bits) {
    const byte = cOff + (k >>> 3);
    const sh = k & 7;
    let v = codes[byte] >>> sh;
    if (sh + bits > 8) v |= codes[byte + 1] << (8 - sh);
    out[outOff + i] = (v & mask) - off;
  }
}

/** out[outOff+i] = Δ·q_i for a packed row (fp32 result, as torch's q·s in float32). */
export function dequantizeRow(
  codes: Uint8Array, cOff: number, dim: number, bits: number, step: number, out: Float32Array, outOff: number,
): void {
  switch (bits) {
    case 8:
      for (let i = 0; i < dim; i++) out[outOff + i] = step * (codes[cOff + i] - 128);
      return;
    case 4: {
      const n2 = dim >>> 1;
      for (let j = 0; j < n2; j++) {
        const c = codes[cOff + j];
        out[outOff + 2 * j] = step * ((c & 15) - 8);
        out[outOff + 2 * j + 1] = step * ((c >>> 4) - 8);
      }
      if (dim & 1) out[outOff + dim - 1] = step * ((codes[cOff + n2] & 15) - 8);
      return;
    }
    case 2: {
      const n4 = dim >>> 2;
      for (let j = 0; j < n4; j++) {
        const c = codes[cOff + j];
        const o = outOff + 4 * j;
        out[o] = step * ((c & 3) - 2);
        out[o + 1] = step * (((c >>> 2) & 3) - 2);
        out[o + 2] = step * (((c >>> 4) & 3) - 2);
        out[o + 3] = step * ((c >>> 6) - 2);
      }
      for (let i = 4 * n4; i < dim; i++) out[outOff + i] = step * (((codes[cOff + n4] >>> (2 * (i & 3))) & 3) - 2);
      return;
    }
    case 1:
      // codes {0,1} mean q {-1,0}
      for (let i = 0; i < dim; i++) out[outOff + i] = step * (((codes[cOff + (i >>> 3)] >>> (i & 7)) & 1) - 1);
      return;
    default: {
      const off = 1 << (bits - 1);
      const mask = (1 << bits) - 1;
      for (let i = 0, k = 0; i < dim; i++, k += bits) {
        const byte = cOff + (k >>> 3);
        const sh = k & 7;
        let v = codes[byte] >>> sh;
        if (sh + bits > 8) v |= codes[byte + 1] << (8 - sh);
        out[outOff + i] = step * ((v & mask) - off);
      }
    }
  }
}

/**
 * Quantize src[srcOff..srcOff+dim) under step Δ and pack into codes: q = clip(round(w/Δ)).
 * stochastic: q = floor(w/Δ + u), u = roundingUniform(rowKey, col); otherwise half away from zero.
 * One pass, no temporaries: codes are shifted into a bit accumulator and flushed a byte at a time.
 */
export function quantizeRow(
  src: Float32Array, srcOff: number, dim: number, bits: number, step: number,
  stochastic: boolean, rowKey: number, codes: Uint8Array, cOff: number,
): void {
  const off = 1 << (bits - 1);
  const lo = -off;
  const hi = off - 1;
  if (bits === 8) {
    // fast path: one code per byte
    for (let i = 0; i < dim; i++) {
      const x = src[srcOff + i] / step;
      let q = stochastic ? Math.floor(x + roundingUniform(rowKey, i)) : roundHalfAway(x);
      q = q < lo ? lo : q > hi ? hi : q;
      codes[cOff + i] = q + off;
    }
    return;
  }
  let acc = 0;
  let nb = 0;
  let o = cOff;
  for (let i = 0; i < dim; i++) {
    const x = src[srcOff + i] / step;
    let q = stochastic ? Math.floor(x + roundingUniform(rowKey, i)) : roundHalfAway(x);
    q = q < lo ? lo : q > hi ? hi : q;
    acc |= (q + off) << nb;
    nb += bits;
    if (nb >= 8) {
      codes[o++] = acc & 255;
      acc >>>= 8;
      nb -= 8;
    }
  }
  if (nb > 0) codes[o] = acc & 255;
}
