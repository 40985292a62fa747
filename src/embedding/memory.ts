// Memory accounting from the actual typed arrays, and allocation with a clear error for tables
// too large for one typed array. A table's report counts every array whose size grows with its
// rows (total, bytesPerRow); its per-batch scratch (O(batch × dim), reused) is reported apart
// (scratch), and so is any array the wasm memory had no room for (fallbacks).
import type { MemoryReport } from './table.js';
import type { SparseKernels } from '../kernels/sparse.js';

/** V8 (Node 20) refuses typed arrays longer than 2^32 elements. */
export const MAX_TYPED_ARRAY_LENGTH = 2 ** 32;

type Ctor<T> = new (n: number) => T;

/**
 * Where a table's big arrays live: allocArray (the JS heap) or a backend's wasm memory. An
 * allocator from allocatorOf lists in `fallbacks` the arrays it had to place on the JS heap.
 */
export interface Allocator {
  <T extends ArrayBufferView>(ctor: Ctor<T>, n: number, what: string): T;
  readonly fallbacks?: readonly string[];
}

let warnedFallback = false;
/** Where fall-back warnings go (stderr; tests may redirect). */
export const fallbackLog = { write: (msg: string): void => void process.stderr.write(msg) };

/**
 * allocArray-compatible allocator placing arrays in the kernels' memory, or allocArray without
 * kernels. When the wasm memory is full (4 GiB at most) an array is kept on the JS heap instead and
 * the table then runs its (slower) TypeScript kernels: never silently — the first time in a
 * process it is said on stderr, and every such array is listed in the allocator's `fallbacks`
 * (and so in the table's memory report).
 */
export function allocatorOf(kernels: SparseKernels | null | undefined): Allocator {
  if (!kernels) return allocArray;
  const fallbacks: string[] = [];
  const alloc = <T extends ArrayBufferView>(ctor: Ctor<T>, n: number, what: string): T => {
    if (n > MAX_TYPED_ARRAY_LENGTH) return allocArray(ctor, n, what); // throws the readable error
    try {
      return kernels.alloc(ctor, n, what);
    } catch (e) {
      const bpe = (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      const mib = (n * bpe / 2 ** 20).toFixed(1);
      fallbacks.push(`${what} (${mib} MiB) on the JS heap: WebAssembly memory full`);
      if (!warnedFallback) {
        warnedFallback = true;
        fallbackLog.write(
          `alpt: warning: ${(e as Error).message}; '${what}' (${mib} MiB) and any later table arrays that do not fit ` +
            'go to the JS heap, and their table runs the TypeScript kernels (several times slower). ' +
            'Use fewer bits, a lighter optimizer (--sparse-optimizer rowwise-adagrad, --memory-light) or fewer rows.\n',
        );
      }
      return allocArray(ctor, n, what);
    }
  };
  return Object.assign(alloc, { fallbacks }) as Allocator;
}

/** Allocate one typed array of n elements for `what`, failing with a readable message if too big. */
export function allocArray<T extends ArrayBufferView>(ctor: Ctor<T>, n: number, what: string): T {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what}: invalid length ${n}`);
  const bpe = (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  if (n > MAX_TYPED_ARRAY_LENGTH) {
    throw new RangeError(
      `${what}: ${n} elements (${(n * bpe / 2 ** 30).toFixed(1)} GiB) exceed the ${MAX_TYPED_ARRAY_LENGTH}-element ` +
        'limit of one typed array; shard the table (fewer rows per table) or lower dim',
    );
  }
  try {
    return new ctor(n);
  } catch (e) {
    throw new RangeError(`${what}: cannot allocate ${n} elements (${(n * bpe / 2 ** 20).toFixed(1)} MiB): ${(e as Error).message}`);
  }
}

export function bytesOf(...arrays: (ArrayBufferView | null | undefined)[]): number {
  let s = 0;
  for (const a of arrays) if (a) s += a.byteLength;
  return s;
}

export function memoryReport(
  rows: number, dim: number,
  parts: {
    codes?: number; steps?: number; optimizerState?: number; stepOptimizerState?: number; master?: number;
    scratch?: number; fallbacks?: readonly string[];
  },
): MemoryReport {
  const codes = parts.codes ?? 0;
  const steps = parts.steps ?? 0;
  const optimizerState = parts.optimizerState ?? 0;
  const stepOptimizerState = parts.stepOptimizerState ?? 0;
  const master = parts.master ?? 0;
  const total = codes + steps + optimizerState + stepOptimizerState + master;
  return {
    rows, dim, codes, steps, optimizerState, stepOptimizerState, master, total, bytesPerRow: rows > 0 ? total / rows : 0,
    scratch: parts.scratch ?? 0, fallbacks: [...(parts.fallbacks ?? [])],
  };
}

/** Copy a checkpointed array into a live one, checking name, type and length. */
export function loadInto(state: Record<string, ArrayBufferView>, name: string, dst: ArrayBufferView): void {
  const src = state[name];
  if (!src) throw new Error(`checkpoint is missing '${name}'`);
  if (src.byteLength !== dst.byteLength) {
    throw new Error(`checkpoint '${name}': ${src.byteLength} bytes, table expects ${dst.byteLength}`);
  }
  if (src.buffer === dst.buffer && src.byteOffset === dst.byteOffset) return; // read straight into the table
  new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
}

/** Optimizer moments as checkpoint arrays (`${prefix}m`, `${prefix}v`); absent moments are skipped. */
export function momentsState(prefix: string, m: Float32Array | null, v: Float32Array | null): Record<string, ArrayBufferView> {
  const s: Record<string, ArrayBufferView> = {};
  if (m) s[prefix + 'm'] = m;
  if (v) s[prefix + 'v'] = v;
  return s;
}

/** Inverse of momentsState. */
export function loadMoments(state: Record<string, ArrayBufferView>, prefix: string, m: Float32Array | null, v: Float32Array | null): void {
  if (m) loadInto(state, prefix + 'm', m);
  if (v) loadInto(state, prefix + 'v', v);
}
