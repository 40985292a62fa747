// The compute backend: dense kernels behind one interface (TensorFlow.js-style), so nothing above
// kernels/ knows whether WebAssembly SIMD, plain TypeScript or a native BLAS does the work.

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
  /** Release workers and memory. */
  dispose(): void;
}
