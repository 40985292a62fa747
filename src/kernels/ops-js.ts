// TypeScript element-wise kernels (the ElementwiseOps of the js backend, and the fallback of the
// wasm backend for arrays outside its memory). They mirror assembly/elementwise.ts operation by
// operation: float64 accumulators where the kernels accumulate in float64, Math.fround after
// every float32 operation, so both give the same bits (row dot products aside: the SIMD kernel
// adds them in another order).

import type { Backend, ElementwiseOps } from './backend.js';

const f = Math.fround;

let acc1 = new Float64Array(0);
let acc2 = new Float64Array(0);
let coef1 = new Float32Array(0);
let coef2 = new Float32Array(0);
let coef3 = new Float32Array(0);

/** Zeroed float64 scratch vectors of length n (reused between calls). */
function f64Scratch(n: number): [Float64Array, Float64Array] {
  if (acc1.length < n) {
    acc1 = new Float64Array(n);
    acc2 = new Float64Array(n);
  }
  acc1.fill(0, 0, n);
  acc2.fill(0, 0, n);
  return [acc1, acc2];
}

function f32Scratch(n: number): [Float32Array, Float32Array, Float32Array] {
  if (coef1.length < n) {
    coef1 = new Float32Array(n);
    coef2 = new Float32Array(n);
    coef3 = new Float32Array(n);
  }
  return [coef1, coef2, coef3];
}

export function columnSumsJs(x: Float32Array, rows: number, cols: number, out: Float32Array): void {
  const [acc] = f64Scratch(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) acc[j] += x[o + j];
  }
  for (let j = 0; j < cols; j++) out[j] = acc[j];
}

export function batchNormForwardJs(
  x: Float32Array, rows: number, cols: number, gamma: Float32Array, beta: Float32Array,
  runningMean: Float32Array, runningVar: Float32Array, mean: Float32Array, invstd: Float32Array, y: Float32Array,
  training: boolean, track: boolean, momentum: number, eps: number, relu: boolean,
): void {
  const [a] = f32Scratch(cols);
  if (training) {
    const [s, q] = f64Scratch(cols);
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) s[j] += x[o + j];
    }
    for (let j = 0; j < cols; j++) mean[j] = s[j] / rows;
    // Centred on the float32 mean that normalises (float64 differences and squares: exact).
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      for (let j = 0; j < cols; j++) {
        const d = x[o + j] - mean[j];
        q[j] += d * d;
      }
    }
    const m = momentum;
    for (let j = 0; j < cols; j++) {
      const v = q[j] / rows;
      const inv = 1 / Math.sqrt(v + eps);
      invstd[j] = inv;
      if (track) {
        const mu = s[j] / rows;
        runningMean[j] = (1 - m) * runningMean[j] + m * mu;
        runningVar[j] = (1 - m) * runningVar[j] + m * (rows > 1 ? q[j] / (rows - 1) : v);
      }
      a[j] = gamma[j] * inv;
    }
  } else {
    for (let j = 0; j < cols; j++) {
      const inv = 1 / Math.sqrt(runningVar[j] + eps);
      mean[j] = runningMean[j];
      invstd[j] = inv;
      a[j] = gamma[j] * inv;
    }
  }
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const r = f(f(f(x[o + j] - mean[j]) * a[j]) + beta[j]);
      y[o + j] = relu && !(r > 0) ? 0 : r;
    }
  }
}

export function batchNormBackwardJs(
  x: Float32Array, dy: Float32Array, reluY: Float32Array | null, rows: number, cols: number,
  gamma: Float32Array, mean: Float32Array, invstd: Float32Array,
  dgamma: Float32Array, dbeta: Float32Array, dx: Float32Array, training: boolean,
): void {
  const [sdy, sdx] = f64Scratch(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const t = reluY && !(reluY[o + j] > 0) ? 0 : dy[o + j];
      sdy[j] += t;
      sdx[j] += t * (x[o + j] - mean[j]);
    }
  }
  const [kc, pc, qc] = f32Scratch(cols);
  for (let j = 0; j < cols; j++) {
    const db = sdy[j];
    const inv = invstd[j];
    const dg = sdx[j] * inv; // Σ dy·x̂
    dgamma[j] = dg;
    dbeta[j] = db;
    const k = gamma[j] * inv;
    kc[j] = k;
    if (training) {
      pc[j] = (-k * inv * dg) / rows;
      qc[j] = (-k * db) / rows;
    }
  }
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) {
      const t = reluY && !(reluY[o + j] > 0) ? 0 : dy[o + j];
      let r = f(t * kc[j]);
      if (training) r = f(f(r + f(f(x[o + j] - mean[j]) * pc[j])) + qc[j]);
      dx[o + j] = r;
    }
  }
}

export function reluJs(x: Float32Array, n: number, y: Float32Array): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    y[i] = v > 0 ? v : 0;
  }
}

export function reluBackwardJs(dy: Float32Array, y: Float32Array, n: number, dx: Float32Array): void {
  for (let i = 0; i < n; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

export function crossForwardJs(
  x0: Float32Array, xl: Float32Array, w: Float32Array, b: Float32Array, rows: number, cols: number,
  s: Float32Array, xNext: Float32Array,
): void {
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += xl[o + j] * w[j];
    const si = f(dot);
    s[i] = si;
    for (let j = 0; j < cols; j++) xNext[o + j] = f(f(f(x0[o + j] * si) + b[j]) + xl[o + j]);
  }
}

export function crossBackwardJs(
  x0: Float32Array, xl: Float32Array, g: Float32Array, w: Float32Array, s: Float32Array, rows: number, cols: number,
  first: boolean, gNext: Float32Array, dx0: Float32Array, dw: Float32Array | null, db: Float32Array | null,
): void {
  const [accW, accB] = f64Scratch(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let ds = 0;
    for (let j = 0; j < cols; j++) ds += g[o + j] * x0[o + j];
    const ds32 = f(ds);
    const si = s[i];
    for (let j = 0; j < cols; j++) {
      const gj = g[o + j];
      accB[j] += gj;
      accW[j] += ds * xl[o + j];
      const d = f(gj * si);
      dx0[o + j] = first ? d : dx0[o + j] + d;
      gNext[o + j] = gj + f(ds32 * w[j]);
    }
  }
  if (dw && db) {
    for (let j = 0; j < cols; j++) {
      dw[j] = accW[j];
      db[j] = accB[j];
    }
  }
}

export function addIntoJs(dst: Float32Array, src: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] += src[i];
}

export function copyBlockJs(src: Float32Array, rows: number, cols: number, srcLd: number, dst: Float32Array, dstLd: number): void {
  if (cols === 1) {
    for (let i = 0; i < rows; i++) dst[i * dstLd] = src[i * srcLd];
    return;
  }
  for (let i = 0; i < rows; i++) dst.set(src.subarray(i * srcLd, i * srcLd + cols), i * dstLd);
}

export function scaleJs(x: Float32Array, n: number, factor: number): void {
  const s = f(factor);
  for (let i = 0; i < n; i++) x[i] *= s;
}

export function adamJs(
  w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
  beta1: number, beta2: number, stepSize: number, bc2Sqrt: number, eps: number, weightDecay: number,
): void {
  const b1 = f(beta1), b2 = f(beta2), c1 = f(1 - beta1), c2 = f(1 - beta2);
  const st = f(stepSize), bc = f(bc2Sqrt), ep = f(eps), wd = f(weightDecay);
  for (let i = 0; i < n; i++) {
    const wi = w[i];
    let gi = g[i];
    if (wd !== 0) gi = f(gi + f(wd * wi));
    const mi = f(f(b1 * m[i]) + f(c1 * gi));
    const vi = f(f(b2 * v[i]) + f(f(c2 * gi) * gi));
    m[i] = mi;
    v[i] = vi;
    w[i] = wi - f(f(st * mi) / f(f(f(Math.sqrt(vi)) / bc) + ep));
  }
}

export const jsOps: ElementwiseOps = {
  columnSums: columnSumsJs,
  batchNormForward: batchNormForwardJs,
  batchNormBackward: batchNormBackwardJs,
  relu: reluJs,
  reluBackward: reluBackwardJs,
  crossForward: crossForwardJs,
  crossBackward: crossBackwardJs,
  addInto: addIntoJs,
  copyBlock: copyBlockJs,
  scale: scaleJs,
  adam: adamJs,
};

/** The backend's element-wise kernels, or the TypeScript ones when it has none. */
export function opsOf(backend: Backend): ElementwiseOps {
  return backend.ops ?? jsOps;
}
