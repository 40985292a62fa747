// The compute backend: dense kernels behind one interface (TensorFlow.js-style), so nothing above
// kernels/ knows whether WebAssembly SIMD, plain TypeScript or a native BLAS does the work.

import type { SparseKernels } from './sparse.js';

export interface Backend {
  readonly name: string;
  readonly threads: number;
  /**
   * A zero-filled Float32Array that kernels read and write without copying (for the WebAssembly
   * backend: a view into the shared WebAssembly memory). Buffers live as long as the backend.
   * Any Float32Array may be passed to the kernels; arrays from alloc() are just faster.
   */
  alloc(n: number): Float32Array;
  /**
   * Row-major C[m×n] = alpha · op(A) · op(B) + beta · C, where op(A) is m×k and op(B) is k×n.
   * A is stored m×k (or k×m when transA), B is k×n (or n×k when transB), all contiguous.
   * If bias is given (length n), it is added to every row of C after the product.
   */
  gemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    b: Float32Array,
    beta: number,
    c: Float32Array,
    bias?: Float32Array,
  ): void;
  /**
   * Element-wise and reduction kernels of the nn layers (see ElementwiseOps). Backends without
   * their own use the TypeScript ones (src/kernels/ops-js.ts); layers call opsOf(backend).
   */
  readonly ops?: ElementwiseOps;
  /**
   * The WebAssembly embedding-table exports (gather, sparse update + write-back, ALPT phases,
   * scatter/expand) and an allocator inside their memory. Tables created with such a backend place
   * their arrays there and run the WebAssembly implementation of TableKernels
   * (src/kernels/table-kernels.ts) over them.
   */
  readonly sparse?: SparseKernels;
  /**
   * Embedding kernels over a new WebAssembly memory of their own (4 GiB more), running on the
   * backend's threads: where a table too large for one memory places a row shard
   * (src/embedding/sharded-table.ts). Released with the backend.
   */
  newSparseShard?(): SparseKernels;
  /** Release workers and memory. */
  dispose(): void;
}

/**
 * Element-wise kernels over row-major [rows × cols] Float32Arrays. Reductions accumulate in
 * float64; everything else is float32 arithmetic (the wasm and TypeScript implementations agree
 * to the last bit except for the order of float64 row dot products). Any Float32Array may be
 * passed; for the wasm backend arrays from alloc() run in WebAssembly, others in TypeScript.
 * Outputs must not alias inputs unless stated.
 */
export interface ElementwiseOps {
  /** out[j] = Σ_i x[i·cols + j]. */
  columnSums(x: Float32Array, rows: number, cols: number, out: Float32Array): void;
  /**
   * BatchNorm1d forward: y = (x − mean)·γ·invstd + β, then max(·, 0) if relu. Training: mean
   * and invstd = 1/√(biased var + eps) of the batch are written to mean/invstd and, if track, the
   * running stats get r ← (1−momentum)·r + momentum·stat (unbiased variance). Eval: mean/invstd
   * are filled from the running stats.
   */
  batchNormForward(
    x: Float32Array, rows: number, cols: number, gamma: Float32Array, beta: Float32Array,
    runningMean: Float32Array, runningVar: Float32Array, mean: Float32Array, invstd: Float32Array, y: Float32Array,
    training: boolean, track: boolean, momentum: number, eps: number, relu: boolean,
  ): void;
  /**
   * BatchNorm1d backward given the forward's mean/invstd. reluY: the fused forward's output (dy is
   * then masked by reluY > 0), or null. Writes dgamma, dbeta and dx (training: through the batch
   * statistics; eval: dx = dy·γ·invstd).
   */
  batchNormBackward(
    x: Float32Array, dy: Float32Array, reluY: Float32Array | null, rows: number, cols: number,
    gamma: Float32Array, mean: Float32Array, invstd: Float32Array,
    dgamma: Float32Array, dbeta: Float32Array, dx: Float32Array, training: boolean,
  ): void;
  /** y[i] = x[i] > 0 ? x[i] : 0 over n values (y may be x). */
  relu(x: Float32Array, n: number, y: Float32Array): void;
  /** dx[i] = y[i] > 0 ? dy[i] : 0 over n values (dx may be dy). */
  reluBackward(dy: Float32Array, y: Float32Array, n: number, dx: Float32Array): void;
  /** DCN cross layer: s[i] = x_l[i]·w (float64 dot), x_next[i] = x0[i]·s[i] + b + x_l[i]. */
  crossForward(
    x0: Float32Array, xl: Float32Array, w: Float32Array, b: Float32Array, rows: number, cols: number,
    s: Float32Array, xNext: Float32Array,
  ): void;
  /**
   * Cross layer backward given g = ∂L/∂x_{l+1}: ds_i = g_i·x0_i, dw = Σ_i ds_i·x_l[i],
   * db = Σ_i g_i, dx0 = g·s_i (first) or dx0 += g·s_i, gNext = g + ds_i·w. dw and db null: the
   * weight gradients are not needed (ALPT's second backward) and not computed.
   */
  crossBackward(
    x0: Float32Array, xl: Float32Array, g: Float32Array, w: Float32Array, s: Float32Array, rows: number, cols: number,
    first: boolean, gNext: Float32Array, dx0: Float32Array, dw: Float32Array | null, db: Float32Array | null,
  ): void;
  /** dst[i] += src[i] over n values. */
  addInto(dst: Float32Array, src: Float32Array, n: number): void;
  /** dst[i·dstLd + j] = src[i·srcLd + j] for a rows × cols block (concatenation and its split). */
  copyBlock(src: Float32Array, rows: number, cols: number, srcLd: number, dst: Float32Array, dstLd: number): void;
  /** x[i] *= f over n values. */
  scale(x: Float32Array, n: number, f: number): void;
  /**
   * One Adam step over n values (torch semantics, f32 arithmetic): g' = g + wd·w;
   * m ← β1·m + (1−β1)·g'; v ← β2·v + (1−β2)·g'²; w ← w − stepSize·m / (√v / bc2Sqrt + eps),
   * with stepSize = lr/(1−β1^t) and bc2Sqrt = √(1−β2^t).
   */
  adam(
    w: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, n: number,
    beta1: number, beta2: number, stepSize: number, bc2Sqrt: number, eps: number, weightDecay: number,
  ): void;
}
