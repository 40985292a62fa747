// Embedding-side kernels of the training step: dequantize-gather of packed b-bit rows, expand and
// scatter-add between unique rows and batch slots, the fused per-row sparse optimizer with
// write-back quantization (deterministic or stochastic rounding), and ALPT's staged phases
// (fake-quantize, LSQ step gradient + step optimizer + Δ clamp).
//
// Numerics mirror the TypeScript kernels bit for bit (src/quant/pack.ts, src/quant/round.ts,
// src/quant/lsq.ts, src/embedding/sparse-optimizer.ts, src/embedding/steps.ts): JS evaluates in
// float64 and rounds to float32 only when storing into a Float32Array, so the scalar code here
// does the same (promote, compute in f64, demote on store). The stochastic-rounding uniform is
// murmur3's fmix32 with i32 multiplies (= Math.imul). Element-wise copies and f32 sums (expand,
// scatter) and dequantization (f32 step × small integer: exact in f64, one rounding) use f32x4.
//
// Pointers are byte offsets in the shared memory; rows/inverse are i32 arrays. Steps Δ are f32, or
// f16 when the steps pointer is odd (arrays are 64-byte aligned, so its low bit is free): f16 Δ
// are widened exactly to f32 on load and stored as src/quant/fp16.ts toHalf does (from the f32
// value, nearest even; 0 → the smallest subnormal), so both dtypes match StepStore bit for bit.

const K_STEP: u32 = 0x85ebca77;
const K_ROW: u32 = 0xc2b2ae3d;
const K_COL: u32 = 0x27d4eb2f;
const GOLDEN: u32 = 0x9e3779b9;
const INV2_32: f64 = 2.3283064365386963e-10;
const MIN_STEP: f64 = 1e-8;

// sparse optimizer kinds (src/kernels/sparse.ts OPT_*)
const SGD = 0;
const ADAGRAD = 1;
const ROWWISE = 2;
const ADAM = 3;
// step-size optimizer kinds (the `adam` argument; src/embedding/steps.ts StepOptimizer.kind)
const STEP_ADAM = 1;
const STEP_ADAGRAD = 2;

// @ts-ignore: decorator
@inline
export function fmix32(h: u32): u32 {
  h ^= h >>> 16;
  h *= 0x85ebca6b;
  h ^= h >>> 13;
  h *= 0xc2b2ae35;
  h ^= h >>> 16;
  return h;
}

/** roundingRowKey(rseed, step, row) of src/quant/round.ts. */
export function roundingRowKey(rseed: u32, step: i32, row: i32): u32 {
  let h = fmix32(rseed ^ GOLDEN);
  h = fmix32(h ^ (<u32>step * K_STEP));
  h = fmix32(h ^ (<u32>row * K_ROW));
  return h;
}

// @ts-ignore: decorator
@inline
function uniform(key: u32, col: i32): f64 {
  return <f64>fmix32(key ^ (<u32>col * K_COL)) * INV2_32;
}

// @ts-ignore: decorator
@inline
function roundHalfAway(x: f64): f64 {
  return x < 0 ? -Math.floor(0.5 - x) : Math.floor(x + 0.5);
}

// Two lanes of the same, branch-free (the sign test of round-half-away mispredicts half the time).
// @ts-ignore: decorator
@inline
function roundHalfAway2(x: v128): v128 {
  const half = f64x2.splat(0.5);
  const pos = f64x2.floor(f64x2.add(x, half));
  const neg = f64x2.neg(f64x2.floor(f64x2.sub(half, x)));
  return v128.bitselect(neg, pos, f64x2.lt(x, f64x2.splat(0)));
}

/** q < lo ? lo : q > hi ? hi : q per lane (NaN stays NaN, as the scalar form). */
// @ts-ignore: decorator
@inline
function clip2(q: v128, lo: v128, hi: v128): v128 {
  return v128.bitselect(lo, v128.bitselect(hi, q, f64x2.gt(q, hi)), f64x2.lt(q, lo));
}

// ---------------------------------------------------------------- step sizes: f32 or f16

/** fromHalf of src/quant/fp16.ts (exact in f32). */
// @ts-ignore: decorator
@inline
function halfToF32(h: u32): f32 {
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) return <f32>((h & 0x8000 ? -1.0 : 1.0) * <f64>mant * 5.960464477539063e-8);
  if (exp == 0x1f) return mant != 0 ? NaN : h & 0x8000 ? -Infinity : Infinity;
  return reinterpret<f32>(((h & 0x8000) << 16) | ((exp + 112) << 23) | (mant << 13));
}

/** toHalf of src/quant/fp16.ts: f32 → f16 bits, round to nearest even. */
function f32ToHalf(x: f32): u32 {
  const b = reinterpret<u32>(x);
  const sign = (b >>> 16) & 0x8000;
  const exp = <i32>((b >>> 23) & 0xff);
  let mant = b & 0x7fffff;
  if (exp == 0xff) return sign | 0x7c00 | (mant != 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = <u32>(14 - e);
    let h = mant >>> shift;
    const rem = mant & ((<u32>1 << shift) - 1);
    const half = <u32>1 << (shift - 1);
    if (rem > half || (rem == half && (h & 1) == 1)) h++;
    return sign | h;
  }
  let h = (<u32>e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1)) h++;
  return sign | h;
}

/** Δ of row r. */
// @ts-ignore: decorator
@inline
function loadStep(steps: usize, r: i32): f32 {
  if (steps & 1) return halfToF32(<u32>load<u16>(steps - 1 + (<usize>r << 1)));
  return load<f32>(steps + (<usize>r << 2));
}

/** Store Δ of row r (already positive, as learnStep returns it); returns the value as stored. */
// @ts-ignore: decorator
@inline
function storeStep(steps: usize, r: i32, x: f32): f32 {
  if (steps & 1) {
    let h = f32ToHalf(x);
    if (h == 0) h = 1; // StepStore.setPositive: never 0 (2^-24)
    store<u16>(steps - 1 + (<usize>r << 1), <u16>h);
    return halfToF32(h);
  }
  store<f32>(steps + (<usize>r << 2), x);
  return x;
}

// ---------------------------------------------------------------- touching rows ahead
// The rows of a batch are scattered over tables far larger than the caches, and the per-row work
// (divisions, square roots) is long enough that the CPU does not overlap one row's cache misses
// with the next. So each block of BLOCK rows is first touched in a tight loop (independent loads:
// many misses in flight), then computed while its lines are in L1/L2. Touching changes nothing.

const BLOCK = 32;
let sink: u32 = 0;

/** Load one byte of each row rows[i0..i1) at base + r·stride (0 = skip), keeping the loads alive. */
// @ts-ignore: decorator
@inline
function touch(rows: usize, i0: i32, i1: i32, base: usize, stride: usize): void {
  if (!base) return;
  let x: u32 = 0;
  for (let i = i0; i < i1; i++) x ^= load<u8>(base + <usize>load<i32>(rows + (<usize>i << 2)) * stride);
  sink ^= x;
}

/** touch() of the step sizes (f32 or f16). */
// @ts-ignore: decorator
@inline
function touchStepRows(rows: usize, i0: i32, i1: i32, steps: usize): void {
  if (steps & 1) touch(rows, i0, i1, steps - 1, 2);
  else touch(rows, i0, i1, steps, 4);
}

/** touch() for everything a quantized-table update reads per row: codes, step, optimizer moments. */
// @ts-ignore: decorator
@inline
function touchQuantRows(rows: usize, i0: i32, i1: i32, codes: usize, rb: i32, steps: usize, m: usize, v: usize, sBytes: usize): void {
  touch(rows, i0, i1, codes, rb);
  touchStepRows(rows, i0, i1, steps);
  touch(rows, i0, i1, m, sBytes);
  touch(rows, i0, i1, v, sBytes);
}

/** End of the block starting at i. */
// @ts-ignore: decorator
@inline
function blockEnd(i: i32, count: i32): i32 {
  return min(i + BLOCK, count);
}

// ---------------------------------------------------------------- dequantize / quantize one row

/** out[i] = Δ·q_i of a packed row at c (f32 Δ × integer: exact product, one rounding). */
function dequantRow(c: usize, dim: i32, bits: i32, step: f32, out: usize): void {
  if (bits == 8) {
    const vs = f32x4.splat(step);
    const v128x = i32x4.splat(128);
    let i = 0;
    for (; i + 4 <= dim; i += 4) {
      const b = v128.load32_zero(c + <usize>i);
      const w = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(b));
      v128.store(out + (<usize>i << 2), f32x4.mul(vs, f32x4.convert_i32x4_s(i32x4.sub(w, v128x))));
    }
    for (; i < dim; i++) store<f32>(out + (<usize>i << 2), step * <f32>(<i32>load<u8>(c + <usize>i) - 128));
    return;
  }
  if (bits == 4) {
    const n2 = dim >>> 1;
    for (let j = 0; j < n2; j++) {
      const b = <i32>load<u8>(c + <usize>j);
      const o = out + (<usize>j << 3);
      store<f32>(o, step * <f32>((b & 15) - 8));
      store<f32>(o, step * <f32>((b >>> 4) - 8), 4);
    }
    if (dim & 1) store<f32>(out + (<usize>(dim - 1) << 2), step * <f32>((<i32>load<u8>(c + <usize>n2) & 15) - 8));
    return;
  }
  if (bits == 2) {
    const n4 = dim >>> 2;
    for (let j = 0; j < n4; j++) {
      const b = <i32>load<u8>(c + <usize>j);
      const o = out + (<usize>j << 4);
      store<f32>(o, step * <f32>((b & 3) - 2));
      store<f32>(o, step * <f32>(((b >>> 2) & 3) - 2), 4);
      store<f32>(o, step * <f32>(((b >>> 4) & 3) - 2), 8);
      store<f32>(o, step * <f32>((b >>> 6) - 2), 12);
    }
    for (let i = 4 * n4; i < dim; i++) {
      store<f32>(out + (<usize>i << 2), step * <f32>(((<i32>load<u8>(c + <usize>n4) >>> (2 * (i & 3))) & 3) - 2));
    }
    return;
  }
  const off = 1 << (bits - 1);
  const mask = (1 << bits) - 1;
  for (let i = 0, k = 0; i < dim; i++, k += bits) {
    const byte = c + <usize>(k >>> 3);
    const sh = k & 7;
    let v = <i32>load<u8>(byte) >>> sh;
    if (sh + bits > 8) v |= <i32>load<u8>(byte, 1) << (8 - sh);
    store<f32>(out + (<usize>i << 2), step * <f32>((v & mask) - off));
  }
}

/** The stored code of one value: clip(round(w/Δ)) + off, as quantizeRow (NaN → 0 like JS's ToUint8/<<). */
// @ts-ignore: decorator
@inline
function code(w: f32, step: f64, stochastic: i32, key: u32, i: i32, lo: f64, hi: f64, off: i32): i32 {
  const x = <f64>w / step;
  let q = stochastic ? Math.floor(x + uniform(key, i)) : roundHalfAway(x);
  q = q < lo ? lo : q > hi ? hi : q;
  return q != q ? 0 : <i32>q + off;
}

/** fmix32 on four lanes (the rounding and init draws hash four columns at once). */
// @ts-ignore: decorator
@inline
export function fmix32x4(h: v128): v128 {
  h = v128.xor(h, i32x4.shr_u(h, 16));
  h = i32x4.mul(h, i32x4.splat(0x85ebca6b));
  h = v128.xor(h, i32x4.shr_u(h, 13));
  h = i32x4.mul(h, i32x4.splat(0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/**
 * Codes of src[i..i+4) as i32x4: the scalar code() four at a time, the same f64 operations in
 * f64x2 lanes (division, floor) and the column hashes as i32x4. Three exact rewrites of code()'s
 * steps, chosen because they compile to one x86 instruction each:
 *  - round half away from zero is floor(|x| + ½) with x's sign put back (x < 0: −floor(½ − x) and
 *    ½ − x = ½ + |x|; −0 and NaN come out as ±0 and NaN, which code the same);
 *  - the clip is pmin(pmax(lo, q), hi): pmax(lo, q) = lo < q ? q : lo is q's clip below and sends
 *    NaN to lo, whose code lo + off = 0 is what code() gives NaN;
 *  - the clipped integer c ∈ [lo, hi] becomes an i32 by adding 2^52 + off (exact): the low word of
 *    the f64 is c + off.
 * and the uniform h·2^-32 is built from its bits (2^20 + h·2^-32, minus 2^20: exact).
 */
// @ts-ignore: decorator
@inline
function code4(src: usize, i: i32, vs: v128, stochastic: i32, vkey: v128, vlo: v128, vhi: v128, vmagic: v128): v128 {
  const p = src + (<usize>i << 2);
  const x0 = f64x2.div(ld2(p), vs);
  const x1 = f64x2.div(ld2(p + 8), vs);
  let q0: v128, q1: v128;
  if (stochastic) {
    const cols = i32x4.add(i32x4.splat(i), i32x4(0, 1, 2, 3));
    const h = fmix32x4(v128.xor(vkey, i32x4.mul(cols, i32x4.splat(<i32>K_COL))));
    // u = h·2^-32 exactly: the f64 whose high word is 0x41300000 and low word h is 2^20 + h·2^-32
    const hiWord = i32x4.splat(0x41300000), two20 = f64x2.splat(1048576.0);
    const u0 = f64x2.sub(i32x4.shuffle(h, hiWord, 0, 4, 1, 5), two20);
    const u1 = f64x2.sub(i32x4.shuffle(h, hiWord, 2, 6, 3, 7), two20);
    q0 = f64x2.floor(f64x2.add(x0, u0));
    q1 = f64x2.floor(f64x2.add(x1, u1));
  } else {
    const half = f64x2.splat(0.5), sign = f64x2.splat(-0.0);
    q0 = v128.xor(f64x2.floor(f64x2.add(f64x2.abs(x0), half)), v128.and(x0, sign));
    q1 = v128.xor(f64x2.floor(f64x2.add(f64x2.abs(x1), half)), v128.and(x1, sign));
  }
  const c0 = f64x2.add(f64x2.pmin(f64x2.pmax(vlo, q0), vhi), vmagic);
  const c1 = f64x2.add(f64x2.pmin(f64x2.pmax(vlo, q1), vhi), vmagic);
  return i32x4.shuffle(c0, c1, 0, 2, 4, 6);
}

/** The low n bytes (n < 8) of x at p. */
// @ts-ignore: decorator
@inline
function storeLow(p: usize, x: u64, n: i32): void {
  if (n & 4) {
    store<u32>(p, <u32>x);
    p += 4;
    x >>= 32;
  }
  if (n & 2) {
    store<u16>(p, <u16>x);
    p += 2;
    x >>= 16;
  }
  if (n & 1) store<u8>(p, <u8>x);
}

/**
 * quantizeRow of src/quant/pack.ts: pack clip(round(src/Δ)) into the row at c. Eight codes of b
 * bits are exactly b bytes: each group of eight is packed in SIMD (lane l of four codes times
 * 2^(l·b), summed: disjoint bits) and stored at once, 8 bytes wide while that stays inside the row.
 */
export function quantRow(src: usize, dim: i32, bits: i32, step: f32, stochastic: i32, key: u32, c: usize): void {
  // one copy of the code per case: fewer live values (registers) in each
  if (stochastic) {
    if (bits == 8) quantRow8S(src, dim, step, key, c);
    else quantRowS(src, dim, bits, step, key, c);
  } else {
    if (bits == 8) quantRow8D(src, dim, step, c);
    else quantRowD(src, dim, bits, step, c);
  }
}
function quantRow8S(src: usize, dim: i32, step: f32, key: u32, c: usize): void {
  quantRowAt(src, dim, 8, step, 1, key, c);
}
function quantRowS(src: usize, dim: i32, bits: i32, step: f32, key: u32, c: usize): void {
  quantRowAt(src, dim, bits, step, 1, key, c);
}
function quantRow8D(src: usize, dim: i32, step: f32, c: usize): void {
  quantRowAt(src, dim, 8, step, 0, 0, c);
}
function quantRowD(src: usize, dim: i32, bits: i32, step: f32, c: usize): void {
  quantRowAt(src, dim, bits, step, 0, 0, c);
}

// @ts-ignore: decorator
@inline
function quantRowAt(src: usize, dim: i32, bits: i32, step: f32, stochastic: i32, key: u32, c: usize): void {
  const off = 1 << (bits - 1);
  const lo = <f64>(-off);
  const hi = <f64>(off - 1);
  const s = <f64>step;
  const vs = f64x2.splat(s);
  const vlo = f64x2.splat(lo), vhi = f64x2.splat(hi), vmagic = f64x2.splat(4503599627370496.0 + <f64>off);
  const vkey = i32x4.splat(<i32>key);
  let i = 0;
  if (bits == 8) {
    for (; i + 8 <= dim; i += 8) {
      const k0 = code4(src, i, vs, stochastic, vkey, vlo, vhi, vmagic);
      const k1 = code4(src, i + 4, vs, stochastic, vkey, vlo, vhi, vmagic);
      const k = i16x8.narrow_i32x4_u(k0, k1);
      v128.store64_lane(c + <usize>i, i8x16.narrow_i16x8_u(k, k), 0);
    }
    for (; i < dim; i++) {
      store<u8>(c + <usize>i, <u8>code(load<f32>(src + (<usize>i << 2)), s, stochastic, key, i, lo, hi, off));
    }
    return;
  }
  const end = c + <usize>((dim * bits + 7) >>> 3);
  const vmul = i32x4(1, 1 << bits, 1 << (2 * bits), 1 << (3 * bits));
  const sh4 = <u64>(4 * bits);
  let o = c;
  for (; i + 8 <= dim; i += 8) {
    const m0 = i32x4.mul(code4(src, i, vs, stochastic, vkey, vlo, vhi, vmagic), vmul);
    const m1 = i32x4.mul(code4(src, i + 4, vs, stochastic, vkey, vlo, vhi, vmagic), vmul);
    let p = i32x4.add(i32x4.shuffle(m0, m1, 0, 1, 4, 5), i32x4.shuffle(m0, m1, 2, 3, 6, 7));
    p = i32x4.add(p, i32x4.shuffle(p, p, 1, 0, 3, 2));
    const chunk = <u64><u32>i32x4.extract_lane(p, 0) | (<u64><u32>i32x4.extract_lane(p, 2) << sh4);
    if (o + 8 <= end) store<u64>(o, chunk);
    else storeLow(o, chunk, bits);
    o += <usize>bits;
  }
  if (i < dim) {
    // the last dim mod 8 codes: up to 49 bits, ceil(n·b/8) bytes
    let acc: u64 = 0;
    let nb: u64 = 0;
    const b64 = <u64>bits;
    if (i + 4 <= dim) {
      const m = i32x4.mul(code4(src, i, vs, stochastic, vkey, vlo, vhi, vmagic), vmul);
      const p = i32x4.add(m, i32x4.shuffle(m, m, 2, 3, 0, 1));
      acc = <u64><u32>(i32x4.extract_lane(p, 0) + i32x4.extract_lane(p, 1));
      nb = sh4;
      i += 4;
    }
    for (; i < dim; i++) {
      acc |= <u64><u32>code(load<f32>(src + (<usize>i << 2)), s, stochastic, key, i, lo, hi, off) << nb;
      nb += b64;
    }
    storeLow(o, acc, <i32>((nb + 7) >>> 3));
  }
}

// ---------------------------------------------------------------- sparse optimizer on one row

/** Two f32 at p as f64x2. */
// @ts-ignore: decorator
@inline
function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Round f64x2 to two f32 and store them at p. */
// @ts-ignore: decorator
@inline
function st2(p: usize, x: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(x), 0);
}

/** x rounded to f32 and back (Math.fround) per lane. */
// @ts-ignore: decorator
@inline
function fround2(x: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(x));
}

/**
 * In place on the f32 row w (table row `row`) from gradient g. rate: lr (sgd, adagrads) or Adam's
 * bias-corrected step size; c1 = 1−β1, c2 = 1−β2 (as float64, like the TS kernels).
 */
function optRow(
  w: usize, g: usize, dim: i32, row: i32, kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
): void {
  if (kind == ADAM) {
    const base = <usize>row * <usize>dim << 2;
    const mp = m + base, vp = v + base;
    const vc1 = f64x2.splat(c1), vc2 = f64x2.splat(c2), vrate = f64x2.splat(rate), veps = f64x2.splat(eps);
    let i = 0;
    for (; i + 2 <= dim; i += 2) {
      const o = <usize>i << 2;
      const gi = ld2(g + o);
      const m0 = ld2(mp + o);
      const v0 = ld2(vp + o);
      const mi = fround2(f64x2.add(m0, f64x2.mul(vc1, f64x2.sub(gi, m0))));
      const vi = fround2(f64x2.add(v0, f64x2.mul(vc2, f64x2.sub(f64x2.mul(gi, gi), v0))));
      st2(mp + o, mi);
      st2(vp + o, vi);
      st2(w + o, f64x2.sub(ld2(w + o), f64x2.div(f64x2.mul(vrate, mi), f64x2.add(f64x2.sqrt(vi), veps))));
    }
    for (; i < dim; i++) {
      const o = <usize>i << 2;
      const gi = <f64>load<f32>(g + o);
      const m0 = <f64>load<f32>(mp + o);
      const v0 = <f64>load<f32>(vp + o);
      const mi = <f32>(m0 + c1 * (gi - m0));
      const vi = <f32>(v0 + c2 * (gi * gi - v0));
      store<f32>(mp + o, mi);
      store<f32>(vp + o, vi);
      store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - (rate * <f64>mi) / (Math.sqrt(<f64>vi) + eps)));
    }
  } else if (kind == ADAGRAD) {
    const ap = m + (<usize>row * <usize>dim << 2);
    const vrate = f64x2.splat(rate), veps = f64x2.splat(eps);
    let i = 0;
    for (; i + 2 <= dim; i += 2) {
      const o = <usize>i << 2;
      const gi = ld2(g + o);
      const a = fround2(f64x2.add(ld2(ap + o), f64x2.mul(gi, gi)));
      st2(ap + o, a);
      st2(w + o, f64x2.sub(ld2(w + o), f64x2.div(f64x2.mul(vrate, gi), f64x2.add(f64x2.sqrt(a), veps))));
    }
    for (; i < dim; i++) {
      const o = <usize>i << 2;
      const gi = <f64>load<f32>(g + o);
      const a = <f32>(<f64>load<f32>(ap + o) + gi * gi);
      store<f32>(ap + o, a);
      store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - (rate * gi) / (Math.sqrt(<f64>a) + eps)));
    }
  } else if (kind == ROWWISE) {
    let s: f64 = 0;
    for (let i = 0; i < dim; i++) {
      const gi = <f64>load<f32>(g + (<usize>i << 2));
      s += gi * gi;
    }
    const ap = m + (<usize>row << 2);
    const a = <f32>(<f64>load<f32>(ap) + s / <f64>dim);
    store<f32>(ap, a);
    const k = rate / (Math.sqrt(<f64>a) + eps);
    const vk = f64x2.splat(k);
    let i = 0;
    for (; i + 2 <= dim; i += 2) {
      const o = <usize>i << 2;
      st2(w + o, f64x2.sub(ld2(w + o), f64x2.mul(vk, ld2(g + o))));
    }
    for (; i < dim; i++) {
      const o = <usize>i << 2;
      store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - k * <f64>load<f32>(g + o)));
    }
  } else {
    const vrate = f64x2.splat(rate);
    let i = 0;
    for (; i + 2 <= dim; i += 2) {
      const o = <usize>i << 2;
      st2(w + o, f64x2.sub(ld2(w + o), f64x2.mul(vrate, ld2(g + o))));
    }
    for (; i < dim; i++) {
      const o = <usize>i << 2;
      store<f32>(w + o, <f32>(<f64>load<f32>(w + o) - rate * <f64>load<f32>(g + o)));
    }
  }
}

// ---------------------------------------------------------------- table kernels

/** out[i·dim..] = dequantized row rows[i], for i in [0, count). */
export function gatherQuant(codes: usize, rb: i32, bits: i32, dim: i32, steps: usize, rows: usize, count: i32, out: usize): void {
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touch(rows, i0, i1, codes, rb);
    touchStepRows(rows, i0, i1, steps);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(rows + (<usize>i << 2));
      dequantRow(codes + <usize>r * <usize>rb, dim, bits, loadStep(steps, r), out + (<usize>i * <usize>dim << 2));
    }
  }
}

/** out[i·dim..] = weights[rows[i]·dim..] (fp32 table). */
export function gatherF32(weights: usize, dim: i32, rows: usize, count: i32, out: usize): void {
  const bytes = <usize>dim << 2;
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touch(rows, i0, i1, weights, bytes);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(rows + (<usize>i << 2));
      memory.copy(out + <usize>i * bytes, weights + <usize>r * bytes, bytes);
    }
  }
}

/** Fp32Table.update: the sparse optimizer on weight rows rows[0..count). */
export function updateF32(
  weights: usize, dim: i32, rows: usize, count: i32, grads: usize,
  kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
): void {
  const bytes = <usize>dim << 2;
  const sBytes: usize = kind == ROWWISE ? 4 : bytes;
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touch(rows, i0, i1, weights, bytes);
    touch(rows, i0, i1, m, sBytes);
    touch(rows, i0, i1, v, sBytes);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(rows + (<usize>i << 2));
      optRow(weights + <usize>r * bytes, grads + <usize>i * bytes, dim, r, kind, m, v, rate, c1, c2, eps);
    }
  }
}

/** QuantizedTable.update (fixed Δ): dequantize → optimizer → quantize back, row by row. buf: dim f32. */
export function updateQuant(
  codes: usize, rb: i32, bits: i32, dim: i32, steps: usize, rows: usize, count: i32, grads: usize,
  kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
  stochastic: i32, rseed: u32, step: i32, buf: usize,
): void {
  updateRows(codes, rb, bits, dim, steps, rows, count, grads, kind, m, v, rate, c1, c2, eps,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, stochastic, rseed, step, buf);
}

/** QuantizedTable.stageUpdate: rows → stagedRows, dequantized + optimizer-updated rows → stagedW. */
export function stageQuant(
  codes: usize, rb: i32, bits: i32, dim: i32, steps: usize, rows: usize, count: i32, grads: usize,
  kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
  stagedW: usize, stagedRows: usize,
): void {
  const bytes = <usize>dim << 2;
  const sBytes: usize = kind == ROWWISE ? 4 : bytes;
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touchQuantRows(rows, i0, i1, codes, rb, steps, m, v, sBytes);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(rows + (<usize>i << 2));
      store<i32>(stagedRows + (<usize>i << 2), r);
      const w = stagedW + <usize>i * bytes;
      dequantRow(codes + <usize>r * <usize>rb, dim, bits, loadStep(steps, r), w);
      optRow(w, grads + <usize>i * bytes, dim, r, kind, m, v, rate, c1, c2, eps);
    }
  }
}

/** QuantizedTable.writeBackStaged. */
export function writeBackQuant(
  stagedW: usize, stagedRows: usize, count: i32, codes: usize, rb: i32, bits: i32, dim: i32, steps: usize,
  stochastic: i32, rseed: u32, step: i32,
): void {
  const bytes = <usize>dim << 2;
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touch(stagedRows, i0, i1, codes, rb);
    touchStepRows(stagedRows, i0, i1, steps);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(stagedRows + (<usize>i << 2));
      quantRow(stagedW + <usize>i * bytes, dim, bits, loadStep(steps, r), stochastic,
        stochastic ? roundingRowKey(rseed, step, r) : 0, codes + <usize>r * <usize>rb);
    }
  }
}

/** fakeQuantize of the staged rows: out = Δ·clip(round(w/Δ)). */
export function fakeQuantStaged(
  stagedW: usize, stagedRows: usize, count: i32, dim: i32, steps: usize, lo: f64, hi: f64, out: usize,
): void {
  for (let i = 0; i < count; i++) {
    if (!(i & (BLOCK - 1))) touchStepRows(stagedRows, i, blockEnd(i, count), steps);
    const s = <f64>loadStep(steps, load<i32>(stagedRows + (<usize>i << 2)));
    const base = <usize>i * <usize>dim;
    const vs = f64x2.splat(s), vlo = f64x2.splat(lo), vhi = f64x2.splat(hi);
    let j = 0;
    for (; j + 2 <= dim; j += 2) {
      const o = (base + <usize>j) << 2;
      const x = f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(stagedW + o)), vs);
      const q = clip2(roundHalfAway2(x), vlo, vhi);
      v128.store64_lane(out + o, f32x4.demote_f64x2_zero(f64x2.mul(vs, q)), 0);
    }
    for (; j < dim; j++) {
      const o = (base + <usize>j) << 2;
      let q = roundHalfAway(<f64>load<f32>(stagedW + o) / s);
      q = q < lo ? lo : q > hi ? hi : q;
      store<f32>(out + o, <f32>(s * q));
    }
  }
}

/**
 * One row's new Δ from ∂L/∂Q: ds = lsqBackward(w, dq)·gscale, a step of the step optimizer
 * (adam: lazy SparseAdam with stepSize a; else sgd with lr), then max(|Δ'|, 1e-8). w, dq: the row.
 */
// @ts-ignore: decorator
@inline
function learnStep(
  w: usize, dq: usize, dim: i32, r: i32, s: f64, lo: f64, hi: f64, gscale: f64,
  adam: i32, sm: usize, sv: usize, lr: f64, a: f64, c1: f64, c2: f64, eps: f64,
): f32 {
  let ds: f64 = 0;
  const vs = f64x2.splat(s), vlo = f64x2.splat(lo), vhi = f64x2.splat(hi);
  let j = 0;
  for (; j + 2 <= dim; j += 2) {
    // the products g·∂Q/∂Δ two at a time, summed in element order like the scalar loop
    const o = <usize>j << 2;
    const x = f64x2.div(f64x2.promote_low_f32x4(v128.load64_zero(w + o)), vs);
    const g = f64x2.promote_low_f32x4(v128.load64_zero(dq + o));
    const inner = f64x2.sub(roundHalfAway2(x), x);
    const c = v128.bitselect(vlo, v128.bitselect(vhi, inner, f64x2.gt(x, vhi)), f64x2.lt(x, vlo));
    const p = f64x2.mul(g, c);
    ds += f64x2.extract_lane(p, 0);
    ds += f64x2.extract_lane(p, 1);
  }
  for (; j < dim; j++) {
    const o = <usize>j << 2;
    const x = <f64>load<f32>(w + o) / s;
    const g = <f64>load<f32>(dq + o);
    if (x < lo) ds += g * lo;
    else if (x > hi) ds += g * hi;
    else ds += g * (roundHalfAway(x) - x);
  }
  ds *= gscale;
  let p: f64;
  if (adam == STEP_ADAGRAD) {
    // one accumulator per Δ: acc += ds²; Δ -= lr·ds/(sqrt(acc)+eps)
    const ap = sm + (<usize>r << 2);
    const acc = <f32>(<f64>load<f32>(ap) + ds * ds);
    store<f32>(ap, acc);
    p = s - (lr * ds) / (Math.sqrt(<f64>acc) + eps);
  } else if (adam) {
    const mp = sm + (<usize>r << 2), vp = sv + (<usize>r << 2);
    const m0 = <f64>load<f32>(mp);
    const v0 = <f64>load<f32>(vp);
    const m = <f32>(m0 + c1 * (ds - m0));
    const v = <f32>(v0 + c2 * (ds * ds - v0));
    store<f32>(mp, m);
    store<f32>(vp, v);
    p = s - (a * <f64>m) / (Math.sqrt(<f64>v) + eps);
  } else {
    p = s - lr * ds;
  }
  return <f32>Math.max(Math.abs(p), MIN_STEP);
}

// @ts-ignore: decorator
@inline
function touchSteps(rows: usize, i: i32, count: i32, steps: usize, adam: i32, sm: usize, sv: usize): void {
  const i1 = blockEnd(i, count);
  touchStepRows(rows, i, i1, steps);
  if (adam) touch(rows, i, i1, sm, 4);
  if (adam == STEP_ADAM) touch(rows, i, i1, sv, 4);
}

/** QuantizedTable.updateStepsStaged: learnStep for every staged row. */
export function stepsStaged(
  stagedW: usize, stagedRows: usize, count: i32, dim: i32, dq: usize, steps: usize, lo: f64, hi: f64, gscale: f64,
  adam: i32, sm: usize, sv: usize, lr: f64, a: f64, c1: f64, c2: f64, eps: f64,
): void {
  for (let i = 0; i < count; i++) {
    if (!(i & (BLOCK - 1))) touchSteps(stagedRows, i, count, steps, adam, sm, sv);
    const r = load<i32>(stagedRows + (<usize>i << 2));
    const o = <usize>i * <usize>dim << 2;
    storeStep(steps, r, learnStep(stagedW + o, dq + o, dim, r, <f64>loadStep(steps, r), lo, hi, gscale, adam, sm, sv, lr, a, c1, c2, eps));
  }
}

/** QuantizedTable.updateStepsAndWriteBack: stepsStaged then writeBackQuant, one pass over the rows. */
export function stepsWriteBackStaged(
  stagedW: usize, stagedRows: usize, count: i32, dim: i32, dq: usize, steps: usize, lo: f64, hi: f64, gscale: f64,
  adam: i32, sm: usize, sv: usize, lr: f64, a: f64, c1: f64, c2: f64, eps: f64,
  codes: usize, rb: i32, bits: i32, stochastic: i32, rseed: u32, step: i32,
): void {
  for (let i = 0; i < count; i++) {
    if (!(i & (BLOCK - 1))) {
      touchSteps(stagedRows, i, count, steps, adam, sm, sv);
      touch(stagedRows, i, blockEnd(i, count), codes, rb);
    }
    const r = load<i32>(stagedRows + (<usize>i << 2));
    const o = <usize>i * <usize>dim << 2;
    const ns = storeStep(steps, r,
      learnStep(stagedW + o, dq + o, dim, r, <f64>loadStep(steps, r), lo, hi, gscale, adam, sm, sv, lr, a, c1, c2, eps));
    quantRow(stagedW + o, dim, bits, ns, stochastic, stochastic ? roundingRowKey(rseed, step, r) : 0, codes + <usize>r * <usize>rb);
  }
}

/**
 * alpt-fast's QuantizedTable.update, one pass per row: dequantize → sparse optimizer → Δ from the
 * first backward's gradient (learnStep) → quantize under the new Δ. buf: dim f32.
 */
export function updateLearnQuant(
  codes: usize, rb: i32, bits: i32, dim: i32, steps: usize, rows: usize, count: i32, grads: usize,
  kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
  lo: f64, hi: f64, gscale: f64, adam: i32, sm: usize, sv: usize, slr: f64, sa: f64, sc1: f64, sc2: f64, seps: f64,
  stochastic: i32, rseed: u32, step: i32, buf: usize,
): void {
  updateRows(codes, rb, bits, dim, steps, rows, count, grads, kind, m, v, rate, c1, c2, eps,
    1, lo, hi, gscale, adam, sm, sv, slr, sa, sc1, sc2, seps, stochastic, rseed, step, buf);
}

/** updateQuant (learn = 0: Δ stays) and updateLearnQuant (learn = 1: Δ from learnStep first). */
// @ts-ignore: decorator
@inline
function updateRows(
  codes: usize, rb: i32, bits: i32, dim: i32, steps: usize, rows: usize, count: i32, grads: usize,
  kind: i32, m: usize, v: usize, rate: f64, c1: f64, c2: f64, eps: f64,
  learn: i32, lo: f64, hi: f64, gscale: f64, adam: i32, sm: usize, sv: usize, slr: f64, sa: f64, sc1: f64, sc2: f64, seps: f64,
  stochastic: i32, rseed: u32, step: i32, buf: usize,
): void {
  const bytes = <usize>dim << 2;
  const sBytes: usize = kind == ROWWISE ? 4 : bytes;
  for (let i0 = 0; i0 < count; i0 += BLOCK) {
    const i1 = blockEnd(i0, count);
    touchQuantRows(rows, i0, i1, codes, rb, steps, m, v, sBytes);
    if (learn && adam) touch(rows, i0, i1, sm, 4);
    if (learn && adam == STEP_ADAM) touch(rows, i0, i1, sv, 4);
    for (let i = i0; i < i1; i++) {
      const r = load<i32>(rows + (<usize>i << 2));
      const c = codes + <usize>r * <usize>rb;
      const s = loadStep(steps, r);
      const g = grads + <usize>i * bytes;
      dequantRow(c, dim, bits, s, buf);
      optRow(buf, g, dim, r, kind, m, v, rate, c1, c2, eps);
      let ns = s;
      if (learn) {
        ns = storeStep(steps, r, learnStep(buf, g, dim, r, <f64>s, lo, hi, gscale, adam, sm, sv, slr, sa, sc1, sc2, seps));
      }
      quantRow(buf, dim, bits, ns, stochastic, stochastic ? roundingRowKey(rseed, step, r) : 0, c);
    }
  }
}

// ---------------------------------------------------------------- batch lookup

/** x[slot·dim..] = v[inverse[slot]·dim..] for slot in [0, slots). */
export function expandRows(v: usize, inv: usize, slots: i32, dim: i32, x: usize): void {
  const bytes = <usize>dim << 2;
  if (dim == 16) {
    for (let i = 0; i < slots; i++) {
      const s = v + (<usize>load<i32>(inv + (<usize>i << 2)) << 6);
      const o = x + (<usize>i << 6);
      v128.store(o, v128.load(s));
      v128.store(o, v128.load(s, 16), 16);
      v128.store(o, v128.load(s, 32), 32);
      v128.store(o, v128.load(s, 48), 48);
    }
    return;
  }
  for (let i = 0; i < slots; i++) {
    memory.copy(x + <usize>i * bytes, v + <usize>load<i32>(inv + (<usize>i << 2)) * bytes, bytes);
  }
}

/** g[0..count·dim) = 0, then g[inverse[slot]·dim..] += dx[slot·dim..] in slot order (f32 adds). */
export function scatterRows(dx: usize, inv: usize, slots: i32, dim: i32, g: usize, count: i32): void {
  memory.fill(g, 0, <usize>count * <usize>dim << 2);
  const d4 = dim & ~3;
  for (let i = 0; i < slots; i++) {
    const s = g + (<usize>load<i32>(inv + (<usize>i << 2)) * <usize>dim << 2);
    const o = dx + (<usize>i * <usize>dim << 2);
    let k = 0;
    for (; k < d4; k += 4) {
      const p = <usize>k << 2;
      v128.store(s + p, f32x4.add(v128.load(s + p), v128.load(o + p)));
    }
    for (; k < dim; k++) {
      const p = <usize>k << 2;
      store<f32>(s + p, load<f32>(s + p) + load<f32>(o + p));
    }
  }
}

/**
 * BatchLookup.prepare: unique rows of ids[0..slots) in first-seen order into rows, the index of
 * each slot's row into inverse. De-duplication uses an open-addressing hash of the batch's ids
 * (linear probing), 2^capLog2 entries of [row + 1 (0 = empty), index in rows] i32 pairs at table,
 * cleared here: O(batch) memory, nothing per table row. Returns the number of unique rows, or
 * −(i+1) for the first slot i whose id is outside [0, nRows).
 */
export function prepareRows(
  ids: usize, slots: i32, nRows: i32, table: usize, capLog2: i32, rows: usize, inverse: usize,
): i32 {
  const mask: u32 = (<u32>1 << capLog2) - 1;
  const shift: u32 = 32 - <u32>capLog2;
  memory.fill(table, 0, <usize>8 << capLog2);
  let count = 0;
  for (let i = 0; i < slots; i++) {
    const r = load<i32>(ids + (<usize>i << 2));
    if (<u32>r >= <u32>nRows) return -(i + 1);
    const key = r + 1;
    let h: u32 = capLog2 > 0 ? (<u32>r * 0x9e3779b1) >>> shift : 0;
    let slot: i32 = 0;
    while (true) {
      const e = table + (<usize>h << 3);
      const k = load<i32>(e);
      if (k == key) {
        slot = load<i32>(e, 4);
        break;
      }
      if (k == 0) {
        store<i32>(e, key);
        store<i32>(e, count, 4);
        store<i32>(rows + (<usize>count << 2), r);
        slot = count++;
        break;
      }
      h = (h + 1) & mask;
    }
    store<i32>(inverse + (<usize>i << 2), slot);
  }
  return count;
}
