// Backend selection: the WebAssembly SIMD backend when its module loads, else plain TypeScript.

import { availableParallelism } from 'node:os';
import type { Backend } from './backend.js';
import { createJsBackend } from './js.js';
import { createWasmBackend } from './wasm.js';

export type { Backend } from './backend.js';
export { createJsBackend } from './js.js';
export { createWasmBackend } from './wasm.js';

export interface BackendOptions {
  kind?: 'wasm' | 'js' | 'auto';
  /** Threads for the wasm backend (main thread included); default: all available cores. */
  threads?: number;
}

export async function createBackend(opts: BackendOptions = {}): Promise<Backend> {
  const kind = opts.kind ?? 'auto';
  if (kind === 'js') return createJsBackend();
  const threads = opts.threads ?? availableParallelism();
  if (kind === 'wasm') return createWasmBackend({ threads });
  try {
    return await createWasmBackend({ threads });
  } catch {
    return createJsBackend();
  }
}
