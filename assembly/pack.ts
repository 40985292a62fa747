// Packing into the layouts the micro-kernel streams: A as 2-row panels (kc×2, interleaved by k,
// scaled by alpha), B as 16-column panels (kc×16). Transposes are absorbed here; partial panels
// are zero-padded so the micro-kernel always runs a full 2×16 tile.

export const MR: i32 = 2;
export const NR: i32 = 16;

/** A stored m×k (lda = k): pack rows ic..ic+mc, cols pc..pc+kc into 2-row panels, scaled by alpha. */
export function packAN(a: usize, lda: i32, pc: i32, kc: i32, ic: i32, mc: i32, alpha: f32, pa: usize): void {
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
export function packAT(a: usize, lda: i32, pc: i32, kc: i32, ic: i32, mc: i32, alpha: f32, pa: usize): void {
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
export function packBN(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, pb: usize): void {
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
export function packBT(b: usize, ldb: i32, pc: i32, kc: i32, jc: i32, nc: i32, pb: usize): void {
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
