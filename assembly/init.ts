// Initialisation of embedding tables: N(0, std²) values that are a pure function of
// (table key, row, column), so any thread can draw any row range and the result does not depend
// on the thread count. Mirrors src/embedding/init.ts bit for bit: the normal deviates come from the
// same 256-layer ziggurat (the same generated literals, assembly/ziggurat-tables.ts) over the same
// hashed row stream, and its rare wedge/tail tests use our own exp/ln built from +, −, ×, ÷ and
// floor only (IEEE-exact in both JS and WebAssembly, which never fuse or reorder them), not the
// engines' Math.exp/log, which may differ in the last bit between V8 and AssemblyScript.

import { fmix32, fmix32x4, quantRow, roundingRowKey } from './sparse';
import { ZIG_F, ZIG_K, ZIG_MASK, ZIG_R, ZIG_SHIFT, ZIG_W } from './ziggurat-tables';

const K_ROW: u32 = 0xc2b2ae3d;
const K_COL: u32 = 0x27d4eb2f;
const K_FIN: u32 = 0x5bd1e995;
const LN2: f64 = 0.6931471805599453;
const INV_LN2: f64 = 1.4426950408889634;
const SQRT2: f64 = 1.4142135623730951;
const ZIG_SIGN: u32 = ZIG_MASK + 1;
/** Rows per partial sum of pass 1 (src/embedding/init.ts INIT_BLOCK_ROWS). */
const BLOCK: i32 = 4096;

// @ts-ignore: decorator
@inline
function rowKey(tableKey: u32, row: i32): u32 {
  return fmix32(tableKey ^ (<u32>row * K_ROW));
}

// @ts-ignore: decorator
@inline
function bitsAt(key: u32, col: i32): u32 {
  return fmix32(fmix32(key ^ (<u32>col * K_COL)) ^ K_FIN);
}

/** ln((h + 0.5)·2^-32) (src/embedding/init.ts lnUnit, the same operations). */
function lnUnit(h: u32): f64 {
  let e: i32 = h == 0 ? -1 : 31 - <i32>clz<u32>(h);
  let m = (<f64>h + 0.5) * reinterpret<f64>(<u64>(1023 - e) << 52);
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const s = (m - 1.0) / (m + 1.0);
  const z = s * s;
  let p: f64 = 1.0 / 13.0;
  p = p * z + 1.0 / 11.0;
  p = p * z + 1.0 / 9.0;
  p = p * z + 1.0 / 7.0;
  p = p * z + 1.0 / 5.0;
  p = p * z + 1.0 / 3.0;
  p = p * z + 1.0;
  return <f64>(e - 32) * LN2 + 2.0 * s * p;
}

/** e^x for |x| ≤ 700 (src/embedding/init.ts expExact, the same operations). */
function expExact(x: f64): f64 {
  const k = Math.floor(x * INV_LN2 + 0.5);
  const t = x - k * LN2;
  let p: f64 = 1.0 / 6227020800.0;
  p = p * t + 1.0 / 479001600.0;
  p = p * t + 1.0 / 39916800.0;
  p = p * t + 1.0 / 3628800.0;
  p = p * t + 1.0 / 362880.0;
  p = p * t + 1.0 / 40320.0;
  p = p * t + 1.0 / 5040.0;
  p = p * t + 1.0 / 720.0;
  p = p * t + 1.0 / 120.0;
  p = p * t + 1.0 / 24.0;
  p = p * t + 1.0 / 6.0;
  p = p * t + 0.5;
  p = p * t + 1.0;
  p = p * t + 1.0;
  return p * reinterpret<f64>(<u64>(<i64>k + 1023) << 52);
}

// the row stream's next counter after zigSlow
let zc: i32 = 0;

/**
 * The ziggurat's slow path for the hash h (drawn at counter c − 1) that missed its layer's fast
 * test: returns the deviate (signed), or NaN to start over at counter zc (set either way).
 */
function zigSlow(key: u32, h: u32, c: i32): f64 {
  const i = h & ZIG_MASK;
  let x = (<f64>(h >>> ZIG_SHIFT) + 0.5) * unchecked(ZIG_W[i]);
  if (i == 0) {
    if (x >= ZIG_R) {
      for (;;) {
        const a = -lnUnit(bitsAt(key, c++)) / ZIG_R;
        const b = -lnUnit(bitsAt(key, c++));
        if (b + b > a * a) {
          x = ZIG_R + a;
          break;
        }
      }
    }
  } else {
    const f0 = unchecked(ZIG_F[i]);
    const y = f0 + (<f64>bitsAt(key, c++) + 0.5) * 2.3283064365386963e-10 * (unchecked(ZIG_F[i - 1]) - f0);
    if (!(y < expExact(-(0.5 * x * x)))) {
      zc = c;
      return NaN;
    }
  }
  zc = c;
  return h & ZIG_SIGN ? -x : x;
}

/** One N(0, 1) deviate from the row stream (key, counter c…), the scalar ziggurat; leaves the next counter in zc. */
function zigNormal(key: u32, c: i32): f64 {
  for (;;) {
    const h = bitsAt(key, c++);
    const i = h & ZIG_MASK;
    const u = h >>> ZIG_SHIFT;
    if (u < unchecked(ZIG_K[i])) {
      zc = c;
      const x = (<f64>u + 0.5) * unchecked(ZIG_W[i]);
      return h & ZIG_SIGN ? -x : x;
    }
    const x = zigSlow(key, h, c);
    c = zc;
    if (x == x) return x;
  }
  return 0; // not reached
}

/**
 * One row's dim init values (std·N(0,1), f32) into out: the ziggurat over the row's hashed stream,
 * four values at a time — the hashes of counters c..c+3 as i32x4, and when all four pass their
 * layer's fast test (94 %) the four values in f64x2 lanes doing the scalar operations exactly;
 * otherwise the values up to the first miss, and that one, go through the scalar zigNormal (the
 * same stream consumed in the same order).
 */
function drawRowAt(tableKey: u32, row: i32, dim: i32, std: f64, out: usize): void {
  const key = rowKey(tableKey, row);
  const vkey = i32x4.splat(<i32>key);
  const vstd = f64x2.splat(std), vhalf = f64x2.splat(0.5);
  let c: i32 = 0;
  let j = 0;
  while (j + 4 <= dim) {
    const cols = i32x4.add(i32x4.splat(c), i32x4(0, 1, 2, 3));
    const h = fmix32x4(v128.xor(fmix32x4(v128.xor(vkey, i32x4.mul(cols, i32x4.splat(<i32>K_COL)))), i32x4.splat(<i32>K_FIN)));
    const u = i32x4.shr_u(h, ZIG_SHIFT);
    const i0 = i32x4.extract_lane(h, 0) & ZIG_MASK, i1 = i32x4.extract_lane(h, 1) & ZIG_MASK;
    const i2 = i32x4.extract_lane(h, 2) & ZIG_MASK, i3 = i32x4.extract_lane(h, 3) & ZIG_MASK;
    let k = i32x4.splat(unchecked(ZIG_K[i0]));
    k = i32x4.replace_lane(k, 1, unchecked(ZIG_K[i1]));
    k = i32x4.replace_lane(k, 2, unchecked(ZIG_K[i2]));
    k = i32x4.replace_lane(k, 3, unchecked(ZIG_K[i3]));
    const m = i32x4.bitmask(i32x4.lt_s(u, k)); // U < 2^23: signed compare is exact
    if (m == 15) {
      const w0 = f64x2.replace_lane(f64x2.splat(unchecked(ZIG_W[i0])), 1, unchecked(ZIG_W[i1]));
      const w1 = f64x2.replace_lane(f64x2.splat(unchecked(ZIG_W[i2])), 1, unchecked(ZIG_W[i3]));
      let x0 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(u), vhalf), w0);
      let x1 = f64x2.mul(f64x2.add(f64x2.convert_low_i32x4_s(i32x4.shuffle(u, u, 2, 3, 2, 3)), vhalf), w1);
      // the sign bit (ZIG_SIGN = bit 8) to bit 63 of each f64 lane
      x0 = v128.xor(x0, i64x2.shl(i64x2.extend_low_i32x4_u(v128.and(h, i32x4.splat(<i32>ZIG_SIGN))), 55));
      x1 = v128.xor(x1, i64x2.shl(i64x2.extend_high_i32x4_u(v128.and(h, i32x4.splat(<i32>ZIG_SIGN))), 55));
      const y0 = f32x4.demote_f64x2_zero(f64x2.mul(vstd, x0));
      const y1 = f32x4.demote_f64x2_zero(f64x2.mul(vstd, x1));
      v128.store(out + (<usize>j << 2), i32x4.shuffle(y0, y1, 0, 1, 4, 5));
      j += 4;
      c += 4;
    } else {
      // values before the first miss, then the miss: scalar, in stream order
      const last = j + <i32>ctz<u32>(~m & 15);
      for (; j <= last; j++) {
        store<f32>(out + (<usize>j << 2), <f32>(std * zigNormal(key, c)));
        c = zc;
      }
    }
  }
  for (; j < dim; j++) {
    store<f32>(out + (<usize>j << 2), <f32>(std * zigNormal(key, c)));
    c = zc;
  }
}

/**
 * Pass 1 of a packed table's init: Σ|w| over rows [row, row+count) (rowPlus1 = row + 1, so a split
 * never sees a 0 argument), one f64 partial sum per block of BLOCK rows into sums[row / BLOCK].
 * row is a multiple of BLOCK. buf: dim f32 of scratch.
 */
export function initAbsSums(tableKey: u32, dim: i32, std: f64, rowPlus1: i32, count: i32, sums: usize, buf: usize): void {
  const row0 = rowPlus1 - 1;
  for (let b = 0; b < count; b += BLOCK) {
    const end = min(count, b + BLOCK);
    let acc: f64 = 0;
    for (let i = b; i < end; i++) {
      drawRowAt(tableKey, row0 + i, dim, std, buf);
      for (let j = 0; j < dim; j++) acc += Math.abs(<f64>load<f32>(buf + (<usize>j << 2)));
    }
    store<f64>(sums + (<usize>((row0 + b) / BLOCK) << 3), acc);
  }
}

/** Pass 2: draw rows [row, row+count) and quantize them stochastically under step (step 0's draws). */
export function initQuant(
  tableKey: u32, dim: i32, std: f64, rowPlus1: i32, count: i32, codes: usize, rb: i32, bits: i32, step: f32, rseed: u32,
  buf: usize,
): void {
  const row0 = rowPlus1 - 1;
  for (let i = 0; i < count; i++) {
    const r = row0 + i;
    drawRowAt(tableKey, r, dim, std, buf);
    quantRow(buf, dim, bits, step, 1, roundingRowKey(rseed, 0, r), codes + <usize>i * <usize>rb);
  }
}

/** fp32 tables: draw rows [row, row+count) into out (dim f32 per row). */
export function initF32(tableKey: u32, dim: i32, std: f64, rowPlus1: i32, count: i32, out: usize): void {
  const row0 = rowPlus1 - 1;
  for (let i = 0; i < count; i++) drawRowAt(tableKey, row0 + i, dim, std, out + ((<usize>i * <usize>dim) << 2));
}
