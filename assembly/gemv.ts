// Degenerate GEMM shapes that the tiled kernel would pad 16-fold: a single output column (n = 1),
// a single output row (m = 1) and rank-1 updates (k = 1). MLP output layers hit all three.
// Each computes only C[i0:i1, j0:j1] so threads can split the work like the tiled kernel.

import { madd } from './simd';

function dot(x: usize, y: usize, len: i32): f32 {
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
  let p = 0;
  for (; p + 8 <= len; p += 8) {
    const o = <usize>p << 2;
    s0 = madd(v128.load(x + o), v128.load(y + o), s0);
    s1 = madd(v128.load(x + o, 16), v128.load(y + o, 16), s1);
  }
  const s = f32x4.add(s0, s1);
  let r = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  for (; p < len; p++) r += load<f32>(x + (<usize>p << 2)) * load<f32>(y + (<usize>p << 2));
  return r;
}

/** y[0:len] += s · x[0:len] */
function axpy(s: f32, x: usize, y: usize, len: i32): void {
  const vs = f32x4.splat(s);
  let p = 0;
  for (; p + 4 <= len; p += 4) {
    const o = <usize>p << 2;
    v128.store(y + o, madd(vs, v128.load(x + o), v128.load(y + o)));
  }
  for (; p < len; p++) {
    const o = <usize>p << 2;
    store<f32>(y + o, load<f32>(y + o) + s * load<f32>(x + o));
  }
}

/** y[0:len] = beta·y + bias[0:len] (bias 0 = none; beta 0 ignores old y). biasStep 0 repeats bias[0]. */
export function scaleRow(y: usize, len: i32, beta: f32, bias: usize, biasStep: i32): void {
  if (biasStep == 1) {
    updateRow(y, len, beta, bias, 0, 0);
    return;
  }
  for (let j = 0; j < len; j++) {
    const o = <usize>j << 2;
    let v: f32 = beta == 0 ? 0 : beta * load<f32>(y + o);
    if (bias) v += load<f32>(bias);
    store<f32>(y + o, v);
  }
}

/** y[0:len] = beta·y + bias + s·x (bias, x: 0 = none; beta 0 ignores old y). */
function updateRow(y: usize, len: i32, beta: f32, bias: usize, s: f32, x: usize): void {
  const vb = f32x4.splat(beta), vs = f32x4.splat(s);
  let j = 0;
  for (; j + 4 <= len; j += 4) {
    const o = <usize>j << 2;
    let v = beta == 0 ? f32x4.splat(0) : f32x4.mul(vb, v128.load(y + o));
    if (bias) v = f32x4.add(v, v128.load(bias + o));
    if (x) v = madd(vs, v128.load(x + o), v);
    v128.store(y + o, v);
  }
  for (; j < len; j++) {
    const o = <usize>j << 2;
    let v: f32 = beta == 0 ? 0 : beta * load<f32>(y + o);
    if (bias) v += load<f32>(bias + o);
    if (x) v += s * load<f32>(x + o);
    store<f32>(y + o, v);
  }
}

/** n = 1: C[i] = beta·C[i] + alpha·op(A)[i,:]·b + bias[0]. */
export function gemvColumn(transA: i32, m: i32, k: i32, alpha: f32, a: usize, b: usize, beta: f32, c: usize, bias: usize, i0: i32, i1: i32): void {
  const cy = c + (<usize>i0 << 2);
  if (!transA) {
    const b0: f32 = bias ? load<f32>(bias) : 0;
    for (let i = i0; i < i1; i++) {
      const o = <usize>i << 2;
      const old: f32 = beta == 0 ? 0 : beta * load<f32>(c + o);
      store<f32>(c + o, old + alpha * dot(a + (<usize>i * <usize>k << 2), b, k) + b0);
    }
    return;
  }
  // A stored k×m: accumulate row p of A (contiguous over i) scaled by alpha·b[p].
  scaleRow(cy, i1 - i0, beta, bias, 0);
  for (let p = 0; p < k; p++) {
    axpy(alpha * load<f32>(b + (<usize>p << 2)), a + ((<usize>p * <usize>m + <usize>i0) << 2), cy, i1 - i0);
  }
}

/** m = 1: C[j] = beta·C[j] + alpha·a·op(B)[:,j] + bias[j]. */
export function gemvRow(transB: i32, n: i32, k: i32, alpha: f32, a: usize, b: usize, beta: f32, c: usize, bias: usize, j0: i32, j1: i32): void {
  const cy = c + (<usize>j0 << 2);
  const by = bias ? bias + (<usize>j0 << 2) : 0;
  if (transB) {
    // B stored n×k: each output is a dot product with a contiguous row of B.
    for (let j = j0; j < j1; j++) {
      const o = <usize>j << 2;
      const old: f32 = beta == 0 ? 0 : beta * load<f32>(c + o);
      store<f32>(c + o, old + alpha * dot(a, b + (<usize>j * <usize>k << 2), k) + (bias ? load<f32>(bias + o) : 0));
    }
    return;
  }
  scaleRow(cy, j1 - j0, beta, by, 1);
  for (let p = 0; p < k; p++) {
    axpy(alpha * load<f32>(a + (<usize>p << 2)), b + ((<usize>p * <usize>n + <usize>j0) << 2), cy, j1 - j0);
  }
}

/** k = 1: C[i,j] = beta·C[i,j] + alpha·a[i]·b[j] + bias[j] (a, b are vectors whatever the transposes). */
export function rankOne(n: i32, alpha: f32, a: usize, b: usize, beta: f32, c: usize, bias: usize, i0: i32, i1: i32, j0: i32, j1: i32): void {
  const by = bias ? bias + (<usize>j0 << 2) : 0;
  for (let i = i0; i < i1; i++) {
    const row = c + ((<usize>i * <usize>n + <usize>j0) << 2);
    updateRow(row, j1 - j0, beta, by, alpha * load<f32>(a + (<usize>i << 2)), b + (<usize>j0 << 2));
  }
}
