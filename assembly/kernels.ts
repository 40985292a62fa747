// Register-tiled SIMD GEMM (BLIS-style) over a shared, imported memory. Every thread runs the same
// module on the same memory and computes one rectangle [i0,i1)×[j0,j1) of C with its own packing
// scratch, so threads never write to the same bytes.
//
// C = alpha·op(A)·op(B) + beta·C + bias, row-major. alpha is folded into the packed A panels;
// beta and bias are applied when the first k-block of a tile is stored (no extra pass over C).
// Micro-tile: 2 rows × 16 columns = 8 f32x4 accumulators. With FMA this already runs at the
// 2-FMA-per-cycle port limit (6×8, 4×12 and 3×12 tiles measured no faster; larger ones spill).

import { gemvColumn, gemvRow, rankOne, scaleRow } from './gemv';
import { MR, NR, packAN, packAT, packBN, packBT } from './pack';
import { madd } from './simd';

// Cache blocking: a kc×16 B micro-panel (16 KB) stays in L1, the mc×kc A block (128 KB) in L2,
// the kc×nc B block (1 MB) in L2/L3.
const KC: i32 = 256;
const MC: i32 = 128;
const NC: i32 = 1024;

/** First byte the host may use: static data of this module ends here. */
export function heapBase(): usize {
  return __heap_base;
}

/** Bytes of packing scratch one thread needs. */
export function scratchBytes(): i32 {
  return (KC * NC + MC * KC + MR * NR) << 2;
}

export function gemm(
  transA: i32, transB: i32, m: i32, n: i32, k: i32,
  alpha: f32, a: usize, b: usize, beta: f32, c: usize, bias: usize,
  i0: i32, i1: i32, j0: i32, j1: i32, scratch: usize,
): void {
  if (i0 >= i1 || j0 >= j1) return;
  if (k == 0 || alpha == 0) {
    const by = bias ? bias + (<usize>j0 << 2) : 0;
    for (let i = i0; i < i1; i++) scaleRow(c + ((<usize>i * <usize>n + <usize>j0) << 2), j1 - j0, beta, by, 1);
    return;
  }
  if (n == 1) return gemvColumn(transA, m, k, alpha, a, b, beta, c, bias, i0, i1);
  if (m == 1) return gemvRow(transB, n, k, alpha, a, b, beta, c, bias, j0, j1);
  if (k == 1) return rankOne(n, alpha, a, b, beta, c, bias, i0, i1, j0, j1);
  const pb = scratch;
  const pa = pb + (<usize>(KC * NC) << 2);
  const tmp = pa + (<usize>(MC * KC) << 2);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      if (transB) packBT(b, k, pc, kc, jc, nc, pb);
      else packBN(b, n, pc, kc, jc, nc, pb);
      // The first k-block stores beta·C + bias + product; later ones accumulate.
      const mode = pc > 0 ? ACCUMULATE : beta == 0 ? OVERWRITE : SCALE;
      const by = pc == 0 && bias ? bias + (<usize>jc << 2) : 0;
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        if (transA) packAT(a, m, pc, kc, ic, mc, alpha, pa);
        else packAN(a, k, pc, kc, ic, mc, alpha, pa);
        macroKernel(pa, pb, mc, nc, kc, c + (<usize>(ic * n + jc) << 2), n, tmp, mode, beta, by);
      }
    }
  }
}

const ACCUMULATE = 0;
const OVERWRITE = 1;
const SCALE = 2;

function macroKernel(
  pa: usize, pb: usize, mc: i32, nc: i32, kc: i32, c: usize, ldc: i32, tmp: usize, mode: i32, beta: f32, bias: usize,
): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const bp = pb + (<usize>(jr * kc) << 2);
    const by = bias ? bias + (<usize>jr << 2) : 0;
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = min(MR, mc - ir);
      const ap = pa + (<usize>(ir * kc) << 2);
      const cp = c + (<usize>(ir * ldc + jr) << 2);
      // Two call sites keep binaryen from inlining the micro-kernel into this loop nest: V8 then
      // tiers it up on its own and allocates its 8 accumulators without pressure from the caller.
      if (rows == MR && cols == NR) microKernel(kc, ap, bp, cp, ldc, MR, NR, tmp, mode, beta, by);
      else microKernel(kc, ap, bp, cp, ldc, rows, cols, tmp, mode, beta, by);
    }
  }
}

/** Writes one C vector: C += v, C = v or C = beta·C + v, plus the bias vector (0 = none). */
// @ts-ignore: decorator
@inline
function put(cp: usize, v: v128, mode: i32, vbeta: v128, bias: usize): void {
  let r = v;
  if (mode == ACCUMULATE) r = f32x4.add(v128.load(cp), v);
  else if (mode == SCALE) r = madd(vbeta, v128.load(cp), v);
  if (bias) r = f32x4.add(r, v128.load(bias));
  v128.store(cp, r);
}

/** C[2×16] += Apanel(kc×2) · Bpanel(kc×16); partial tiles go through tmp. */
function microKernel(
  kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, rows: i32, cols: i32, tmp: usize, mode: i32, beta: f32, bias: usize,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(pb, 0);
    const b1 = v128.load(pb, 16);
    const b2 = v128.load(pb, 32);
    const b3 = v128.load(pb, 48);
    const a0 = v128.load32_splat(pa, 0);
    const a1 = v128.load32_splat(pa, 4);
    c00 = madd(a0, b0, c00);
    c01 = madd(a0, b1, c01);
    c02 = madd(a0, b2, c02);
    c03 = madd(a0, b3, c03);
    c10 = madd(a1, b0, c10);
    c11 = madd(a1, b1, c11);
    c12 = madd(a1, b2, c12);
    c13 = madd(a1, b3, c13);
    pa += 8;
    pb += 64;
  }
  if (rows == MR && cols == NR) {
    const c1 = c + (<usize>ldc << 2);
    const vb = f32x4.splat(beta);
    const b1 = bias ? bias + 16 : 0, b2 = bias ? bias + 32 : 0, b3 = bias ? bias + 48 : 0;
    put(c, c00, mode, vb, bias); put(c + 16, c01, mode, vb, b1); put(c + 32, c02, mode, vb, b2); put(c + 48, c03, mode, vb, b3);
    put(c1, c10, mode, vb, bias); put(c1 + 16, c11, mode, vb, b1); put(c1 + 32, c12, mode, vb, b2); put(c1 + 48, c13, mode, vb, b3);
    return;
  }
  v128.store(tmp, c00, 0); v128.store(tmp, c01, 16); v128.store(tmp, c02, 32); v128.store(tmp, c03, 48);
  v128.store(tmp, c10, 64); v128.store(tmp, c11, 80); v128.store(tmp, c12, 96); v128.store(tmp, c13, 112);
  for (let i = 0; i < rows; i++) {
    const row = c + (<usize>(i * ldc) << 2);
    for (let j = 0; j < cols; j++) {
      const p = row + (<usize>j << 2);
      let v = load<f32>(tmp + (<usize>(i * NR + j) << 2));
      if (mode == ACCUMULATE) v += load<f32>(p);
      else if (mode == SCALE) v += beta * load<f32>(p);
      if (bias) v += load<f32>(bias + (<usize>j << 2));
      store<f32>(p, v);
    }
  }
}

export {
  adam, addInto, bnBackward, copyBlock, bnForward, colSums, crossBackwardCols, crossBackwardRows, crossForward, reluBackward, reluForward, scaleInPlace,
} from './elementwise';

export {
  expandRows, fakeQuantStaged, gatherF32, gatherQuant, prepareRows, roundingRowKey, scatterRows, stageQuant, stepsStaged,
  stepsWriteBackStaged, updateF32, updateLearnQuant, updateQuant, writeBackQuant,
} from './sparse';

export { initAbsSums, initF32, initQuant } from './init';
