// Initialisation of embedding tables: N(0, std²) values that are a pure function of
// (table key, row, column), so any thread can draw any row range and the result does not depend
// on the thread count. Mirrors src/embedding/init.ts bit for bit: the normal deviates use
// Box–Muller with our own ln/sin/cos built from +, −, ×, ÷ and sqrt only (IEEE-exact in both JS and
// WebAssembly, which never fuse or reorder them), not the engines' Math.log/cos, which may
// differ in the last bit between V8 and AssemblyScript.

import { fmix32, quantRow, roundingRowKey } from './sparse';

const K_ROW: u32 = 0xc2b2ae3d;
const K_COL: u32 = 0x27d4eb2f;
const K_FIN: u32 = 0x5bd1e995;
const LN2: f64 = 0.6931471805599453;
const SQRT2: f64 = 1.4142135623730951;
const HALF_PI: f64 = 1.5707963267948966;
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

// Polynomials on f64x2 (two Box–Muller pairs at once: the latency chains are what limit the
// scalar version); every lane does exactly the scalar operations of src/embedding/init.ts.

/** ln m for m in [√½, √2) by the atanh series to s^13 (|error| < 1e-12: far below f32's ulp). */
// @ts-ignore: decorator
@inline
function lnM2(m: v128): v128 {
  const one = f64x2.splat(1.0);
  const s = f64x2.div(f64x2.sub(m, one), f64x2.add(m, one));
  const z = f64x2.mul(s, s);
  let p = f64x2.splat(1.0 / 13.0);
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 11.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 9.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 7.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 5.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 3.0));
  p = f64x2.add(f64x2.mul(p, z), one);
  return f64x2.mul(f64x2.mul(f64x2.splat(2.0), s), p);
}

/** sin x for x in [0, π/4] (Taylor to x^13). */
// @ts-ignore: decorator
@inline
function sin2(x: v128): v128 {
  const z = f64x2.mul(x, x);
  let p = f64x2.splat(1.0 / 6227020800.0);
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(1.0 / 39916800.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 362880.0));
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(1.0 / 5040.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 120.0));
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(1.0 / 6.0));
  return f64x2.add(x, f64x2.mul(f64x2.mul(x, z), p));
}

/** cos x for x in [0, π/4] (Taylor to x^14). */
// @ts-ignore: decorator
@inline
function cos2(x: v128): v128 {
  const z = f64x2.mul(x, x);
  let p = f64x2.splat(-1.0 / 87178291200.0);
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 479001600.0));
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(1.0 / 3628800.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 40320.0));
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(1.0 / 720.0));
  p = f64x2.add(f64x2.mul(p, z), f64x2.splat(1.0 / 24.0));
  p = f64x2.sub(f64x2.mul(p, z), f64x2.splat(0.5));
  return f64x2.add(f64x2.splat(1.0), f64x2.mul(z, p));
}

// per-lane reduction results (globals: the helpers below return two values)
let gE: f64 = 0;
let gM: f64 = 0;

/** h + 0.5 = m·2^(gE + 32)… : sets gM in [√½, √2) and gE = e − 32 with (h + 0.5)·2^-32 = gM·2^gE. */
// @ts-ignore: decorator
@inline
function reduceLn(h: u32): void {
  let e: i32 = h == 0 ? -1 : 31 - <i32>clz<u32>(h);
  let m = (<f64>h + 0.5) * reinterpret<f64>(<u64>(1023 - e) << 52);
  if (m > SQRT2) {
    m *= 0.5;
    e += 1;
  }
  gE = <f64>(e - 32);
  gM = m;
}

/** The angle's fraction of its quadrant, folded into [0, ½] (x = f·π/2 ≤ π/4). */
// @ts-ignore: decorator
@inline
function turnFraction(h: u32): f64 {
  const f = (<f64>(h & 0x3fffffff) + 0.5) * 9.313225746154785e-10; // 2^-30
  return f <= 0.5 ? f : 1.0 - f;
}

/** Stores std·r·cos θ (and std·r·sin θ when two) for the angle of h, given cos/sin of its folded x. */
// @ts-ignore: decorator
@inline
function storePair(h: u32, r: f64, cx: f64, sx: f64, std: f64, out: usize, two: bool): void {
  const f = (<f64>(h & 0x3fffffff) + 0.5) * 9.313225746154785e-10;
  let c = cx, s = sx;
  if (f > 0.5) {
    c = sx;
    s = cx;
  }
  const q = h >>> 30;
  let cq: f64, sq: f64;
  if (q == 0) { cq = c; sq = s; } else if (q == 1) { cq = -s; sq = c; } else if (q == 2) { cq = -c; sq = -s; } else { cq = s; sq = -c; }
  store<f32>(out, <f32>(std * (r * cq)));
  if (two) store<f32>(out + 4, <f32>(std * (r * sq)));
}

/** One row's dim init values into out: Box–Muller pairs two at a time. */
function drawRowAt(tableKey: u32, row: i32, dim: i32, std: f64, out: usize): void {
  const key = rowKey(tableKey, row);
  const pairs = (dim + 1) >> 1;
  const vln2 = f64x2.splat(LN2), vm2 = f64x2.splat(-2.0), vhalfpi = f64x2.splat(HALF_PI);
  for (let p = 0; p < pairs; p += 2) {
    const hu0 = bitsAt(key, 2 * p), hv0 = bitsAt(key, 2 * p + 1);
    const hu1 = bitsAt(key, 2 * p + 2), hv1 = bitsAt(key, 2 * p + 3);
    reduceLn(hu0);
    const e0 = gE, m0 = gM;
    reduceLn(hu1);
    const ve = f64x2.replace_lane(f64x2.splat(e0), 1, gE);
    const vm = f64x2.replace_lane(f64x2.splat(m0), 1, gM);
    const ln = f64x2.add(f64x2.mul(ve, vln2), lnM2(vm));
    const r = f64x2.sqrt(f64x2.mul(vm2, ln));
    const x = f64x2.mul(f64x2.replace_lane(f64x2.splat(turnFraction(hv0)), 1, turnFraction(hv1)), vhalfpi);
    const c = cos2(x), s = sin2(x);
    const j = p << 1;
    storePair(hv0, f64x2.extract_lane(r, 0), f64x2.extract_lane(c, 0), f64x2.extract_lane(s, 0), std,
      out + (<usize>j << 2), j + 1 < dim);
    if (j + 2 < dim) {
      storePair(hv1, f64x2.extract_lane(r, 1), f64x2.extract_lane(c, 1), f64x2.extract_lane(s, 1), std,
        out + (<usize>(j + 2) << 2), j + 3 < dim);
    }
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
