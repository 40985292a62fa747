// Backend selection: OpenBLAS GEMM (over the WebAssembly backend) when the optional native addon
// loads, else the WebAssembly SIMD backend when its module loads, else plain TypeScript.

import { availableParallelism } from 'node:os';
import type { Backend } from './backend.js';
import { createBlasBackend, loadBlas } from './blas.js';
import { createJsBackend } from './js.js';
import { createWasmBackend } from './wasm.js';

export type { Backend } from './backend.js';
export { blasInfo, blasUnavailableReason, createBlasBackend } from './blas.js';
export { createJsBackend } from './js.js';
export { createWasmBackend } from './wasm.js';

export interface BackendOptions {
  kind?: 'blas' | 'wasm' | 'js' | 'auto';
  /** Threads for the wasm and blas backends (main thread included); default: all available cores. */
  threads?: number;
}

export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const kind = opts.kind ?? 'auto';
  if (kind === 'js') return createJsBackend();
  const threads = opts.threads ?? availableParallelism();
  if (kind === 'wasm') return createWasmBackend({ threads });
  if (kind === 'blas') return createBlasBackend({ threads }); // throws, saying why, when unavailable
  if (loadBlas()) return createBlasBackend({ threads });
  try {
    return await createWasmBackend({ threads });
  } catch (e) {
    // Correct but ~10× slower: say so rather than degrade silently.
    process.emitWarning(`alpt: WebAssembly backend unavailable (${(e as Error).message}); using plain TypeScript kernels`);
    return createJsBackend();
  }
}
