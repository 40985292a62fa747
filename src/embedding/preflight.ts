// Pre-flight check: before any table is allocated, the bytes a run's tables will take (the same
// per-row formulas as their memory() reports, checked against each other in test/embedding.test.ts)
// against the memory the machine has. A run that cannot fit is refused in milliseconds with the
// estimate and what to change, rather than swapping or dying an hour into initialisation.
import { freemem, totalmem } from 'node:os';
import { rowBytes } from '../quant/pack.js';
import type { SparseOptimizerName } from './table.js';
import type { TableMethod } from './factory.js';
import type { StepSizeDtype, StepSizeOptimizerName } from './steps.js';

/** The WebAssembly memory's limit (--maximumMemory 65536 pages): a table's arrays must fit there to run the wasm kernels. */
export const WASM_MEMORY_LIMIT = 2 ** 32;

export interface TableShape {
  method: TableMethod;
  rows: number;
  dim: number;
  bits: number;
  optimizer: SparseOptimizerName;
  stepDtype?: StepSizeDtype;
  stepOptimizer?: StepSizeOptimizerName;
  lsqPerRow?: boolean;
}

export interface TableEstimate {
  codes: number;
  steps: number;
  optimizerState: number;
  stepOptimizerState: number;
  master: number;
  bytesPerRow: number;
  total: number;
}

/** Bytes per row of the sparse optimizer's state. */
export function optimizerBytesPerRow(name: SparseOptimizerName, dim: number): number {
  switch (name) {
    case 'adam': return 8 * dim;
    case 'adagrad': return 4 * dim;
    case 'rowwise-adagrad': return 4;
    case 'sgd': return 0;
    default: throw new Error(`unknown sparse optimizer '${name as string}'`);
  }
}

function stepSizeOptBytes(name: StepSizeOptimizerName): number {
  return name === 'adam' ? 8 : name === 'adagrad' ? 4 : 0;
}

/** What memory() will report for a table of this shape (every array that grows with the rows). */
export function estimateTable(s: TableShape): TableEstimate {
  const r = s.rows;
  const opt = optimizerBytesPerRow(s.optimizer, s.dim) * r;
  let codes = 0, steps = 0, stepSizeOpt = 0, master = 0;
  if (s.method === 'fp32') {
    codes = 4 * s.dim * r;
  } else if (s.method === 'lsq') {
    master = 4 * s.dim * r;
    const n = s.lsqPerRow ? r : 1;
    steps = 4 * n;
    stepSizeOpt = stepSizeOptBytes(s.stepOptimizer ?? 'adam') * n;
  } else {
    codes = rowBytes(s.dim, s.bits) * r;
    steps = (s.stepDtype === 'f16' ? 2 : 4) * r;
    if (s.method === 'alpt' || s.method === 'alpt-fast') stepSizeOpt = stepSizeOptBytes(s.stepOptimizer ?? 'adam') * r;
  }
  const total = codes + steps + opt + stepSizeOpt + master;
  return { codes, steps, optimizerState: opt, stepOptimizerState: stepSizeOpt, master, bytesPerRow: r > 0 ? total / r : 0, total };
}

export interface MemoryAvailable {
  /** Bytes the process can still take: os.freemem() (MemAvailable), capped by a cgroup limit. */
  available: number;
  total: number;
  /** Where the cap came from. */
  source: string;
}

export function memoryAvailable(): MemoryAvailable {
  const env = process.env.ALPT_MEMORY_AVAILABLE; // tests and schedulers: pretend this much is free
  if (env) return { available: Number(env), total: totalmem(), source: 'ALPT_MEMORY_AVAILABLE' };
  let available = freemem();
  let source = 'os.freemem()';
  const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  if (limit > 0 && limit < 2 ** 60) {
    const left = limit - process.memoryUsage.rss();
    if (left < available) {
      available = left;
      source = `cgroup limit ${gib(limit)}`;
    }
  }
  return { available, total: totalmem(), source };
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(1)} GiB`;

export interface PreflightInput {
  tables: { name: string; shape: TableShape }[];
  /** Whether the backend places table arrays in its WebAssembly memory. */
  wasm: boolean;
  /**
   * Whether the backend gives a table too large for its memory row shards in memories of their
   * own (Backend.newSparseShard): then nothing falls back and there is no warning.
   */
  shards?: boolean;
  /** Bytes already in the wasm memory (model, buffers). */
  wasmUsed?: number;
  /** What the user can change, shown in the refusal: table → alternative shapes with a label. */
  alternatives?: { label: string; shape: TableShape }[];
}

export interface PreflightResult {
  bytes: number;
  available: MemoryAvailable;
  /** Set when the tables exceed the wasm memory: arrays past it go to the JS heap (TypeScript kernels). */
  wasmWarning?: string;
}

/**
 * Estimate and check; throws an Error with the estimate, the machine's memory and what to change
 * when the tables do not fit in the memory available. ALPT_SKIP_PREFLIGHT=1 skips the refusal.
 */
export function preflight(p: PreflightInput): PreflightResult {
  const ests = p.tables.map((t) => ({ ...t, est: estimateTable(t.shape) }));
  const bytes = ests.reduce((s, t) => s + t.est.total, 0);
  const available = memoryAvailable();
  const describe = (e: TableEstimate, rows: number): string =>
    `${rows.toLocaleString('en-US')} rows × ${e.bytesPerRow.toFixed(1)} bytes/row (codes ${(e.codes / rows).toFixed(1)}, Δ ${(e.steps / rows).toFixed(1)}, ` +
    `optimizer ${(e.optimizerState / rows).toFixed(1)}, step optimizer ${(e.stepOptimizerState / rows).toFixed(1)}${e.master ? `, fp32 master ${(e.master / rows).toFixed(1)}` : ''})`;
  const res: PreflightResult = { bytes, available };
  if (p.wasm && !p.shards && bytes + (p.wasmUsed ?? 0) > WASM_MEMORY_LIMIT) {
    res.wasmWarning = `the tables need ${gib(bytes)}, more than the ${gib(WASM_MEMORY_LIMIT)} WebAssembly memory can hold` +
      `${p.wasmUsed ? ` next to the ${gib(p.wasmUsed)} already in it` : ''}: arrays that do not fit go to the JS heap and their table runs the TypeScript kernels (several times slower)`;
  }
  if (bytes > available.available && process.env.ALPT_SKIP_PREFLIGHT !== '1') {
    const lines = [
      `not enough memory for the embedding tables: they need about ${gib(bytes)}, and this machine has ${gib(available.available)} available ` +
        `(${available.source}; ${gib(available.total)} in total).`,
      ...ests.map((t) => `  ${t.name}: ${gib(t.est.total)} = ${describe(t.est, t.shape.rows)}`),
      'Change:',
      ...(p.alternatives ?? []).map((a) => {
        const e = estimateTable(a.shape);
        const other = bytes - ests[0].est.total;
        return `  ${a.label}: ${gib(e.total + other)} (${e.bytesPerRow.toFixed(1)} bytes/row)${e.total + other <= available.available ? '' : ' — still too much'}`;
      }),
      '  or fewer rows (--min-count for real data, --hash-rows N to bound every field at N rows, --rows-per-field for bench), or a smaller --dim. (ALPT_SKIP_PREFLIGHT=1 skips this check.)',
    ];
    throw new Error(lines.join('\n'));
  }
  return res;
}
