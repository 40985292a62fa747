// Element-wise and reduction kernels of the nn layers (BatchNorm1d, ReLU, the DCN cross layer,
// bias column sums, dense Adam), f32x4 SIMD over the shared memory. Each call covers a slice
// that the host picks (src/kernels/pool.ts splits a call across threads): row-wise kernels get
// offset pointers and a row count; column kernels (BatchNorm, column sums, the cross layer's
// weight gradients) a column slice of width cols out of rows of ld elements, so every column is
// still summed over all rows in order and results do not depend on the thread count.
//
// Numerics mirror src/kernels/ops-js.ts exactly: reductions accumulate in float64 (f32 values and
// f32·f32 products are exact in f64, and column sums add rows in the same order as the TS loops),
// element-wise results are f32 operations (no FMA, so both builds of the module agree). Column
// reductions keep their float64 accumulators in caller-provided scratch: 28 bytes per column
// (two float64 accumulators, then up to three f32 coefficients).

// @ts-ignore: decorator
@inline
function hi2(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
}

// @ts-ignore: decorator
@inline
function lo2(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

function zeroF64(p: usize, n: i32): void {
  memory.fill(p, 0, <usize>n << 3);
}

/** acc[j] += Σ_i x[i·ld + j] in float64. */
function accumColumns(x: usize, rows: i32, cols: i32, ld: i32, acc: usize): void {
  const c4 = cols & ~3;
  for (let i = 0; i < rows; i++) {
    const xr = x + (<usize>i * <usize>ld << 2);
    let j = 0;
    for (; j < c4; j += 4) {
      const v = v128.load(xr + (<usize>j << 2));
      const a = acc + (<usize>j << 3);
      v128.store(a, f64x2.add(v128.load(a), lo2(v)));
      v128.store(a, f64x2.add(v128.load(a, 16), hi2(v)), 16);
    }
    for (; j < cols; j++) {
      const a = acc + (<usize>j << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(xr + (<usize>j << 2)));
    }
  }
}

/** out[j] = Σ_i x[i·ld + j] (float64 accumulation in scratch[cols·8]). */
export function colSums(x: usize, rows: i32, cols: i32, ld: i32, out: usize, scratch: usize): void {
  zeroF64(scratch, cols);
  accumColumns(x, rows, cols, ld, scratch);
  for (let j = 0; j < cols; j++) store<f32>(out + (<usize>j << 2), <f32>load<f64>(scratch + (<usize>j << 3)));
}

/**
 * BatchNorm1d forward, y = (x − mean)·(γ·invstd) + β (then max(·, 0) if relu). Training: batch
 * mean and biased variance (centred on the f32 mean) go to mean/invstd, and, if track, the running
 * stats are updated (momentum, unbiased variance). Eval: mean/invstd come from the running stats.
 */
export function bnForward(
  x: usize, rows: i32, cols: i32, ld: i32, gamma: usize, beta: usize, rmean: usize, rvar: usize,
  mean: usize, invstd: usize, y: usize, training: i32, track: i32, momentum: f64, eps: f64, relu: i32,
  scratch: usize,
): void {
  const s = scratch;
  const q = scratch + (<usize>cols << 3);
  const sa = scratch + (<usize>cols << 4); // the f32 scale a = γ·invstd
  const c4 = cols & ~3;
  if (training) {
    zeroF64(s, cols);
    accumColumns(x, rows, cols, ld, s);
    for (let j = 0; j < cols; j++) store<f32>(mean + (<usize>j << 2), <f32>(load<f64>(s + (<usize>j << 3)) / <f64>rows));
    zeroF64(q, cols);
    for (let i = 0; i < rows; i++) {
      const xr = x + (<usize>i * <usize>ld << 2);
      let j = 0;
      for (; j < c4; j += 4) {
        const v = v128.load(xr + (<usize>j << 2));
        const m = v128.load(mean + (<usize>j << 2));
        const d0 = f64x2.sub(lo2(v), lo2(m));
        const d1 = f64x2.sub(hi2(v), hi2(m));
        const a = q + (<usize>j << 3);
        v128.store(a, f64x2.add(v128.load(a), f64x2.mul(d0, d0)));
        v128.store(a, f64x2.add(v128.load(a, 16), f64x2.mul(d1, d1)), 16);
      }
      for (; j < cols; j++) {
        const d = <f64>load<f32>(xr + (<usize>j << 2)) - <f64>load<f32>(mean + (<usize>j << 2));
        const a = q + (<usize>j << 3);
        store<f64>(a, load<f64>(a) + d * d);
      }
    }
    const n = <f64>rows;
    for (let j = 0; j < cols; j++) {
      const qj = load<f64>(q + (<usize>j << 3));
      const v = qj / n;
      const inv = 1.0 / Math.sqrt(v + eps);
      store<f32>(invstd + (<usize>j << 2), <f32>inv);
      if (track) {
        const mu = load<f64>(s + (<usize>j << 3)) / n;
        const rm = rmean + (<usize>j << 2);
        const rv = rvar + (<usize>j << 2);
        store<f32>(rm, <f32>((1 - momentum) * <f64>load<f32>(rm) + momentum * mu));
        store<f32>(rv, <f32>((1 - momentum) * <f64>load<f32>(rv) + momentum * (rows > 1 ? qj / (n - 1) : v)));
      }
      store<f32>(sa + (<usize>j << 2), <f32>(<f64>load<f32>(gamma + (<usize>j << 2)) * inv));
    }
  } else {
    for (let j = 0; j < cols; j++) {
      const inv = 1.0 / Math.sqrt(<f64>load<f32>(rvar + (<usize>j << 2)) + eps);
      store<f32>(mean + (<usize>j << 2), load<f32>(rmean + (<usize>j << 2)));
      store<f32>(invstd + (<usize>j << 2), <f32>inv);
      store<f32>(sa + (<usize>j << 2), <f32>(<f64>load<f32>(gamma + (<usize>j << 2)) * inv));
    }
  }
  const zero = f32x4.splat(0);
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>ld << 2;
    const xr = x + off;
    const yr = y + off;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let r = f32x4.add(f32x4.mul(f32x4.sub(v128.load(xr + o), v128.load(mean + o)), v128.load(sa + o)), v128.load(beta + o));
      if (relu) r = v128.and(r, f32x4.gt(r, zero));
      v128.store(yr + o, r);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let r: f32 = (load<f32>(xr + o) - load<f32>(mean + o)) * load<f32>(sa + o) + load<f32>(beta + o);
      if (relu && !(r > 0)) r = 0;
      store<f32>(yr + o, r);
    }
  }
}

/**
 * BatchNorm1d backward from the forward's mean/invstd. If reluY ≠ 0 the layer's output went through
 * a fused ReLU: dy is masked by reluY > 0 first. dβ = Σdy, dγ = Σdy·x̂, and
 * dx = dy·k + (x − mean)·p + q with k = γ·invstd, p = −k·invstd·dγ/B, q = −k·dβ/B (training; eval:
 * dx = dy·k).
 */
export function bnBackward(
  x: usize, dy: usize, reluY: usize, rows: i32, cols: i32, ld: i32, gamma: usize, mean: usize, invstd: usize,
  dgamma: usize, dbeta: usize, dx: usize, training: i32, scratch: usize,
): void {
  const sdy = scratch;
  const sdx = scratch + (<usize>cols << 3);
  const c4 = cols & ~3;
  const zero = f32x4.splat(0);
  zeroF64(sdy, cols);
  zeroF64(sdx, cols);
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>ld << 2;
    const xr = x + off;
    const gr = dy + off;
    const yr = reluY + off;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let t = v128.load(gr + o);
      if (reluY) t = v128.and(t, f32x4.gt(v128.load(yr + o), zero));
      const v = v128.load(xr + o);
      const m = v128.load(mean + o);
      const t0 = lo2(t), t1 = hi2(t);
      const a = sdy + (<usize>j << 3);
      v128.store(a, f64x2.add(v128.load(a), t0));
      v128.store(a, f64x2.add(v128.load(a, 16), t1), 16);
      const b = sdx + (<usize>j << 3);
      v128.store(b, f64x2.add(v128.load(b), f64x2.mul(t0, f64x2.sub(lo2(v), lo2(m)))));
      v128.store(b, f64x2.add(v128.load(b, 16), f64x2.mul(t1, f64x2.sub(hi2(v), hi2(m)))), 16);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let t = load<f32>(gr + o);
      if (reluY && !(load<f32>(yr + o) > 0)) t = 0;
      const a = sdy + (<usize>j << 3);
      store<f64>(a, load<f64>(a) + <f64>t);
      const b = sdx + (<usize>j << 3);
      store<f64>(b, load<f64>(b) + <f64>t * (<f64>load<f32>(xr + o) - <f64>load<f32>(mean + o)));
    }
  }
  // Per column: gradients out, then k, p, q as f32 after the accumulators.
  const kp = scratch + (<usize>cols << 4);
  const pp = kp + (<usize>cols << 2);
  const qp = pp + (<usize>cols << 2);
  const n = <f64>rows;
  for (let j = 0; j < cols; j++) {
    const db = load<f64>(sdy + (<usize>j << 3));
    const inv = <f64>load<f32>(invstd + (<usize>j << 2));
    const dg = load<f64>(sdx + (<usize>j << 3)) * inv;
    store<f32>(dgamma + (<usize>j << 2), <f32>dg);
    store<f32>(dbeta + (<usize>j << 2), <f32>db);
    const k = <f64>load<f32>(gamma + (<usize>j << 2)) * inv;
    store<f32>(kp + (<usize>j << 2), <f32>k);
    if (training) {
      store<f32>(pp + (<usize>j << 2), <f32>((-k * inv * dg) / n));
      store<f32>(qp + (<usize>j << 2), <f32>((-k * db) / n));
    }
  }
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>ld << 2;
    const xr = x + off;
    const gr = dy + off;
    const yr = reluY + off;
    const dr = dx + off;
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      let t = v128.load(gr + o);
      if (reluY) t = v128.and(t, f32x4.gt(v128.load(yr + o), zero));
      let r = f32x4.mul(t, v128.load(kp + o));
      if (training) {
        r = f32x4.add(r, f32x4.mul(f32x4.sub(v128.load(xr + o), v128.load(mean + o)), v128.load(pp + o)));
        r = f32x4.add(r, v128.load(qp + o));
      }
      v128.store(dr + o, r);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      let t = load<f32>(gr + o);
      if (reluY && !(load<f32>(yr + o) > 0)) t = 0;
      let r: f32 = t * load<f32>(kp + o);
      if (training) {
        r = r + (load<f32>(xr + o) - load<f32>(mean + o)) * load<f32>(pp + o);
        r = r + load<f32>(qp + o);
      }
      store<f32>(dr + o, r);
    }
  }
}

/** y = x if x > 0 else 0, over n values. */
export function reluForward(x: usize, n: i32, y: usize): void {
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.and(v, f32x4.gt(v, zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : 0);
  }
}

/** dx = dy where y > 0, else 0. */
export function reluBackward(dy: usize, y: usize, n: i32, dx: usize): void {
  const zero = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(y + o), zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** Σ_j a[j]·b[j] over n values, float64 (two lanes, then the tail). */
// @ts-ignore: decorator
@inline
function dot64(a: usize, b: usize, n: i32): f64 {
  const n4 = n & ~3;
  let s0 = f64x2.splat(0), s1 = f64x2.splat(0);
  let j = 0;
  for (; j < n4; j += 4) {
    const o = <usize>j << 2;
    const u = v128.load(a + o);
    const v = v128.load(b + o);
    s0 = f64x2.add(s0, f64x2.mul(lo2(u), lo2(v)));
    s1 = f64x2.add(s1, f64x2.mul(hi2(u), hi2(v)));
  }
  const s = f64x2.add(s0, s1);
  let r = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; j < n; j++) {
    const o = <usize>j << 2;
    r += <f64>load<f32>(a + o) * <f64>load<f32>(b + o);
  }
  return r;
}

/** One DCN cross layer: s[i] = x_l[i]·w, x_{l+1}[i] = x0[i]·s[i] + b + x_l[i]. */
export function crossForward(x0: usize, xl: usize, w: usize, b: usize, rows: i32, cols: i32, s: usize, xn: usize): void {
  const c4 = cols & ~3;
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>cols << 2;
    const si = <f32>dot64(xl + off, w, cols);
    store<f32>(s + (<usize>i << 2), si);
    const vs = f32x4.splat(si);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const r = f32x4.add(f32x4.add(f32x4.mul(v128.load(x0 + off + o), vs), v128.load(b + o)), v128.load(xl + off + o));
      v128.store(xn + off + o, r);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      store<f32>(xn + off + o, load<f32>(x0 + off + o) * si + load<f32>(b + o) + load<f32>(xl + off + o));
    }
  }
}

/**
 * Backward of one cross layer given g = ∂L/∂x_{l+1}, row part: ds_i = g_i·x0_i (float64, kept in
 * ds[rows] for crossBackwardCols), dx0 (=|+=) g·s_i, gn = g + ds_i·w.
 */
export function crossBackwardRows(
  x0: usize, g: usize, w: usize, s: usize, rows: i32, cols: i32, first: i32, gn: usize, dx0: usize, ds: usize,
): void {
  const c4 = cols & ~3;
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>cols << 2;
    const gr = g + off;
    const d = dot64(gr, x0 + off, cols);
    store<f64>(ds + (<usize>i << 3), d);
    const d32 = <f32>d;
    const si = load<f32>(s + (<usize>i << 2));
    const vds32 = f32x4.splat(d32);
    const vsi = f32x4.splat(si);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const gv = v128.load(gr + o);
      const e = f32x4.mul(gv, vsi);
      v128.store(dx0 + off + o, first ? e : f32x4.add(v128.load(dx0 + off + o), e));
      v128.store(gn + off + o, f32x4.add(gv, f32x4.mul(vds32, v128.load(w + o))));
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const gj = load<f32>(gr + o);
      const e = gj * si;
      store<f32>(dx0 + off + o, first ? e : load<f32>(dx0 + off + o) + e);
      store<f32>(gn + off + o, gj + d32 * load<f32>(w + o));
    }
  }
}

/**
 * Backward of one cross layer, column part (after crossBackwardRows): dw = Σ_i ds_i·x_l[i] and
 * db = Σ_i g_i in float64, over a column slice of rows of ld elements. scratch: 16 bytes per column.
 */
export function crossBackwardCols(
  xl: usize, g: usize, ds: usize, rows: i32, cols: i32, ld: i32, dw: usize, db: usize, scratch: usize,
): void {
  const accW = scratch;
  const accB = scratch + (<usize>cols << 3);
  zeroF64(accW, cols);
  zeroF64(accB, cols);
  const c4 = cols & ~3;
  for (let i = 0; i < rows; i++) {
    const off = <usize>i * <usize>ld << 2;
    const gr = g + off;
    const d = load<f64>(ds + (<usize>i << 3));
    const vds = f64x2.splat(d);
    let j = 0;
    for (; j < c4; j += 4) {
      const o = <usize>j << 2;
      const gv = v128.load(gr + o);
      const xv = v128.load(xl + off + o);
      const a = accB + (<usize>j << 3);
      v128.store(a, f64x2.add(v128.load(a), lo2(gv)));
      v128.store(a, f64x2.add(v128.load(a, 16), hi2(gv)), 16);
      const b = accW + (<usize>j << 3);
      v128.store(b, f64x2.add(v128.load(b), f64x2.mul(vds, lo2(xv))));
      v128.store(b, f64x2.add(v128.load(b, 16), f64x2.mul(vds, hi2(xv))), 16);
    }
    for (; j < cols; j++) {
      const o = <usize>j << 2;
      const a = accB + (<usize>j << 3);
      store<f64>(a, load<f64>(a) + <f64>load<f32>(gr + o));
      const b = accW + (<usize>j << 3);
      store<f64>(b, load<f64>(b) + d * <f64>load<f32>(xl + off + o));
    }
  }
  for (let j = 0; j < cols; j++) {
    store<f32>(dw + (<usize>j << 2), <f32>load<f64>(accW + (<usize>j << 3)));
    store<f32>(db + (<usize>j << 2), <f32>load<f64>(accB + (<usize>j << 3)));
  }
}

/** dst[i] += src[i]. */
export function addInto(dst: usize, src: usize, n: i32): void {
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}

/** dst[i·dstLd + j] = src[i·srcLd + j] for i < rows, j < cols. */
export function copyBlock(src: usize, rows: i32, cols: i32, srcLd: i32, dst: usize, dstLd: i32): void {
  const bytes = <usize>cols << 2;
  for (let i = 0; i < rows; i++) {
    memory.copy(dst + (<usize>i * <usize>dstLd << 2), src + (<usize>i * <usize>srcLd << 2), bytes);
  }
}

/** x[i] *= f. */
export function scaleInPlace(x: usize, n: i32, f: f32): void {
  const vf = f32x4.splat(f);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    v128.store(x + o, f32x4.mul(v128.load(x + o), vf));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(x + o, load<f32>(x + o) * f);
  }
}

/**
 * Adam (torch semantics, f32 arithmetic): g' = g + wd·w; m = β1·m + (1−β1)·g'; v = β2·v + (1−β2)·g'²;
 * w −= stepSize·m / (√v / bc2Sqrt + eps), stepSize = lr/(1−β1^t), bc2Sqrt = √(1−β2^t).
 */
export function adam(
  w: usize, g: usize, m: usize, v: usize, n: i32,
  b1: f32, b2: f32, c1: f32, c2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32, wd: f32,
): void {
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), vc1 = f32x4.splat(c1), vc2 = f32x4.splat(c2);
  const vst = f32x4.splat(stepSize), vbc = f32x4.splat(bc2Sqrt), veps = f32x4.splat(eps), vwd = f32x4.splat(wd);
  const n4 = n & ~3;
  let i = 0;
  for (; i < n4; i += 4) {
    const o = <usize>i << 2;
    const wv = v128.load(w + o);
    let gv = v128.load(g + o);
    if (wd != 0) gv = f32x4.add(gv, f32x4.mul(vwd, wv));
    const mv = f32x4.add(f32x4.mul(vb1, v128.load(m + o)), f32x4.mul(vc1, gv));
    const vv = f32x4.add(f32x4.mul(vb2, v128.load(v + o)), f32x4.mul(f32x4.mul(vc2, gv), gv));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc), veps);
    v128.store(w + o, f32x4.sub(wv, f32x4.div(f32x4.mul(vst, mv), den)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const wv = load<f32>(w + o);
    let gv = load<f32>(g + o);
    if (wd != 0) gv = gv + wd * wv;
    const mv: f32 = b1 * load<f32>(m + o) + c1 * gv;
    const vv: f32 = b2 * load<f32>(v + o) + c2 * gv * gv;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(w + o, wv - (stepSize * mv) / (Mathf.sqrt(vv) / bc2Sqrt + eps));
  }
}
