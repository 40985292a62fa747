// Register-tiled SIMD GEMM (BLIS-style) over a shared, imported memory. Every thread runs the same
// module on the same memory and computes one rectangle [i0,i1)×[j0,j1) of C with its own packing
// scratch, so threads never write to the same bytes.
//
// C = alpha·op(A)·op(B) + beta·C + bias, row-major. alpha is folded into the packed A panels, and
// beta/bias are applied in one pass over C before the product is accumulated into it.

// Micro-tile: 2 rows × 16 columns = 8 f32x4 accumulators (larger tiles spill registers in V8).
const MR: i32 = 2;
const NR: i32 = 16;
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
  scaleC(c, n, beta, bias, i0, i1, j0, j1);
  if (k == 0 || alpha == 0) return;
  const pb = scratch;
  const pa = pb + (<usize>(KC * NC) << 2);
  const tmp = pa + (<usize>(MC * KC) << 2);
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = min(KC, k - pc);
      if (transB) packBT(b, k, pc, kc, jc, nc, pb);
      else packBN(b, n, pc, kc, jc, nc, pb);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        if (transA) packAT(a, m, pc, kc, ic, mc, alpha, pa);
        else packAN(a, k, pc, kc, ic, mc, alpha, pa);
        macroKernel(pa, pb, mc, nc, kc, c + (<usize>(ic * n + jc) << 2), n, tmp);
      }
    }
  }
}

/** C[i0:i1, j0:j1] = beta·C + bias (beta = 0 overwrites, so stale NaNs do not leak in). */
function scaleC(c: usize, n: i32, beta: f32, bias: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  if (beta == 1 && bias == 0) return;
  for (let i = i0; i < i1; i++) {
    const row = c + (<usize>(i * n) << 2);
    for (let j = j0; j < j1; j++) {
      const p = row + (<usize>j << 2);
      let v: f32 = beta == 0 ? 0 : beta * load<f32>(p);
      if (bias) v += load<f32>(bias + (<usize>j << 2));
      store<f32>(p, v);
    }
  }
}

function macroKernel(pa: usize, pb: usize, mc: i32, nc: i32, kc: i32, c: usize, ldc: i32, tmp: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const bp = pb + (<usize>(jr * kc) << 2);
    for (let ir = 0; ir < mc; ir += MR) {
      const rows = min(MR, mc - ir);
      const ap = pa + (<usize>(ir * kc) << 2);
      const cp = c + (<usize>(ir * ldc + jr) << 2);
      // Two call sites keep binaryen from inlining the micro-kernel into this loop nest, which
      // makes V8's register allocator spill the accumulators.
      if (rows == MR && cols == NR) microKernel(kc, ap, bp, cp, ldc, MR, NR, tmp);
      else microKernel(kc, ap, bp, cp, ldc, rows, cols, tmp);
    }
  }
}

// @ts-ignore: decorator
@inline
function acc(cp: usize, v: v128): void {
  v128.store(cp, f32x4.add(v128.load(cp), v));
}

// @ts-ignore: decorator
@inline
function madd(a: v128, b: v128, c: v128): v128 {
  // Built twice: with relaxed SIMD this is one FMA instruction, twice the throughput of mul+add.
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}

/** C[2×16] += Apanel(kc×2) · Bpanel(kc×16); partial tiles go through tmp. */
function microKernel(kc: i32, pa: usize, pb: usize, c: usize, ldc: i32, rows: i32, cols: i32, tmp: usize): void {
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
    acc(c, c00); acc(c + 16, c01); acc(c + 32, c02); acc(c + 48, c03);
    acc(c1, c10); acc(c1 + 16, c11); acc(c1 + 32, c12); acc(c1 + 48, c13);
    return;
  }
  v128.store(tmp, c00, 0); v128.store(tmp, c01, 16); v128.store(tmp, c02, 32); v128.store(tmp, c03, 48);
  v128.store(tmp, c10, 64); v128.store(tmp, c11, 80); v128.store(tmp, c12, 96); v128.store(tmp, c13, 112);
  for (let i = 0; i < rows; i++) {
    const row = c + (<usize>(i * ldc) << 2);
    for (let j = 0; j < cols; j++) {
      const p = row + (<usize>j << 2);
      store<f32>(p, load<f32>(p) + load<f32>(tmp + (<usize>(i * NR + j) << 2)));
    }
  }
}

/** A stored m×k (lda = k): pack rows ic..ic+mc, cols pc..pc+kc into 2-row panels, scaled by alpha. */
function packAN(a: usize, lda: i32, pc: i32, kc: i32, ic: i32, mc: i32, alpha: f32, pa: usize): void {
  const va = f32x4.splat(alpha);
  for (let ir = 0; ir < mc; ir += MR) {
    const r0 = a + (<usize>((ic + ir) * lda + pc) << 2);
    const dst = pa + (<usize>(ir * kc) << 2);
    if (ir + 1 < mc) {
      const r1 = r0 + (<usize>lda << 2);
      let p = 0;
      // 4 columns of both rows at a time, interleaved to (a0,b0,a1,b1),(a2,b2,a3,b3).
      for (; p + 4 <= kc; p += 4) {
        const x = f32x4.mul(v128.load(r0 + (<usize>p << 2)), va);
        const y = f32x4.mul(v128.load(r1 + (<usize>p << 2)), va);
        const d = dst + (<usize>p << 3);
        v128.store(d, v128.shuffle<f32>(x, y, 0, 4, 1, 5));
        v128.store(d, v128.shuffle<f32>(x, y, 2, 6, 3, 7), 16);
      }
      for (; p < kc; p++) {
        const d = dst + (<usize>p << 3);
        store<f32>(d, alpha * load<f32>(r0 + (<usize>p << 2)));
        store<f32>(d, alpha * load<f32>(r1 + (<usize>p << 2)), 4);
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + (<usize>p << 3);
        store<f32>(d, alpha * load<f32>(r0 + (<usize>p << 2)));
        store<f32>(d, 0, 4);
      }
    }
  }
}

/** A stored k×m (lda = m), op(A) = Aᵀ: the two values of a panel row are adjacent in memory. */
function packAT(a: usize, lda: i32, pc: i32, kc: i32, ic: i32, mc: i32, alpha: f32, pa: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const dst = pa + (<usize>(ir * kc) << 2);
    const src = a + (<usize>(pc * lda + ic + ir) << 2);
    const stride = <usize>lda << 2;
    if (ir + 1 < mc) {
      for (let p = 0; p < kc; p++) {
        const s = src + <usize>p * stride;
        const d = dst + (<usize>p << 3);
        store<f32>(d, alpha * load<f32>(s));
        store<f32>(d, alpha * load<f32>(s, 4), 4);
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const d = dst + (<usize>p << 3);
        store<f32>(d, alpha * load<f32>(src + <usize>p * stride));
        store<f32>(d, 0, 4);
      }
    }
  }
}

/** B stored k×n (ldb = n): each 16-column panel row is a contiguous 64-byte copy. */
function packBN(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, pb: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const dst = pb + (<usize>(jr * kc) << 2);
    const src = b + (<usize>(pc * ldb + jc + jr) << 2);
    const stride = <usize>ldb << 2;
    for (let p = 0; p < kc; p++) {
      const s = src + <usize>p * stride;
      const d = dst + (<usize>p << 6);
      if (cols == NR) {
        v128.store(d, v128.load(s, 0), 0);
        v128.store(d, v128.load(s, 16), 16);
        v128.store(d, v128.load(s, 32), 32);
        v128.store(d, v128.load(s, 48), 48);
      } else {
        for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(s + (<usize>j << 2)) : 0);
      }
    }
  }
}

/** B stored n×k (ldb = k), op(B) = Bᵀ: gather column j of the panel from row j of B. */
function packBT(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, pb: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = min(NR, nc - jr);
    const dst = pb + (<usize>(jr * kc) << 2);
    for (let j = 0; j < NR; j++) {
      const d = dst + (<usize>j << 2);
      if (j < cols) {
        const s = b + (<usize>((jc + jr + j) * ldb + pc) << 2);
        for (let p = 0; p < kc; p++) store<f32>(d + (<usize>p << 6), load<f32>(s + (<usize>p << 2)));
      } else {
        for (let p = 0; p < kc; p++) store<f32>(d + (<usize>p << 6), 0);
      }
    }
  }
}
