// One entry point from a method name to a table, matching torch_ref.py's --emb methods.
import type { EmbeddingTable, StepSizeLearningOptions, TableInitOptions } from './table.js';
import { Fp32Table } from './fp32-table.js';
import { AlptTable, QuantizedTable } from './quantized-table.js';
import { LsqTable } from './lsq-table.js';
import type { StepSizeDtype } from './steps.js';
import type { Backend } from '../kernels/backend.js';
import type { SparseKernels } from '../kernels/sparse.js';
import { ShardedTable, type ShardTable } from './sharded-table.js';
import { estimateTable, WASM_MEMORY_LIMIT } from './preflight.js';
import { fallbackLog } from './memory.js';

/**
 * Largest table (bytes of its per-row arrays) kept in one WebAssembly memory; larger ones are
 * split into row shards of at most this many bytes, each in a memory of its own. 3 GiB leaves a
 * 4 GiB memory room for its batch buffers. ALPT_SHARD_BYTES overrides it (tests shard small tables).
 */
export const DEFAULT_SHARD_BYTES = 3 * 2 ** 30;
/** What the main memory keeps free for the model and batch buffers when deciding to shard. */
const MAIN_MEMORY_RESERVE = 256 * 2 ** 20;

export function shardBytesLimit(): number {
  const env = process.env.ALPT_SHARD_BYTES;
  if (env === undefined || env === '') return DEFAULT_SHARD_BYTES;
  const n = Number(env);
  if (!(n > 0)) throw new RangeError(`ALPT_SHARD_BYTES must be a positive number of bytes, got '${env}'`);
  return n;
}

/**
 * Rows per shard for a table of this many bytes, or 0 to keep it whole in the main memory: sharded
 * when it exceeds shardBytes or what the main memory (mainUsed bytes in use) still has room for.
 */
export function shardRowsFor(rows: number, tableBytes: number, shardBytes: number, mainUsed: number): number {
  const room = WASM_MEMORY_LIMIT - mainUsed - MAIN_MEMORY_RESERVE;
  if (rows <= 1 || (tableBytes <= shardBytes && tableBytes <= room)) return 0;
  const shards = Math.max(2, Math.ceil(tableBytes / shardBytes));
  return Math.ceil(rows / shards);
}

export type TableMethod = 'fp32' | 'lpt-dr' | 'lpt-sr' | 'alpt' | 'alpt-fast' | 'lsq';
export const TABLE_METHODS: readonly TableMethod[] = ['fp32', 'lpt-dr', 'lpt-sr', 'alpt', 'alpt-fast', 'lsq'];

export interface CreateTableOptions extends TableInitOptions, StepSizeLearningOptions {
  method: TableMethod;
  /** Ignored by fp32. */
  bits: number;
  /** lpt-*, alpt, alpt-fast only. */
  stepDtype?: StepSizeDtype;
  /** lsq only: one step per row. */
  lsqPerRow?: boolean;
  /**
   * A backend with embedding kernels (the wasm and blas backends): the table's arrays then live in
   * its memory and its hot loops run there. Without one (or with the js backend) everything stays
   * in TypeScript; results are identical either way.
   */
  backend?: Backend;
  /** Bytes of per-row arrays per shard (default: ALPT_SHARD_BYTES or DEFAULT_SHARD_BYTES); see ShardedTable. */
  shardBytes?: number;
}

/**
 * fp32 → Fp32Table; lpt-dr/lpt-sr → QuantizedTable (fixed Δ, deterministic/stochastic write-back);
 * alpt → AlptTable with two passes (the trainer runs the second forward/backward); alpt-fast →
 * AlptTable with one pass (step sizes learned from the first backward's gradients);
 * lsq → LsqTable.
 */
export function createTable(o: CreateTableOptions): EmbeddingTable {
  const be = o.backend;
  if (be?.sparse && be.newSparseShard && o.method !== 'lsq') {
    const est = estimateTable({
      method: o.method, rows: o.rows, dim: o.dim, bits: o.bits, optimizer: o.optimizer.name, stepDtype: o.stepDtype, stepOptimizer: o.stepOptimizer,
    });
    const shardRows = shardRowsFor(o.rows, est.total, o.shardBytes ?? shardBytesLimit(), be.sparse.used());
    if (shardRows > 0) {
      const n = Math.ceil(o.rows / shardRows);
      fallbackLog.write(
        `alpt: the ${o.rows.toLocaleString('en-US')}-row table (${(est.total / 2 ** 30).toFixed(2)} GiB) is split into ${n} row shards ` +
          `of ${shardRows.toLocaleString('en-US')} rows, each in a WebAssembly memory of its own\n`,
      );
      const newKernels = be.newSparseShard.bind(be);
      return new ShardedTable({
        rows: o.rows, dim: o.dim, shardRows, newKernels,
        makeShard: (kernels, firstRow, rows, initStep) =>
          createWholeTable({ ...o, initStep: o.initStep ?? initStep }, kernels, { firstRow, rows, tableRows: o.rows }) as ShardTable,
      });
    }
  }
  return createWholeTable(o, be?.sparse, { firstRow: 0, rows: o.rows, tableRows: o.rows });
}

/** One table in one memory: the whole table, or one shard of it (rows from firstRow). */
function createWholeTable(
  o: CreateTableOptions, kernels: SparseKernels | undefined, at: { firstRow: number; rows: number; tableRows: number },
): EmbeddingTable {
  const base = {
    rows: at.rows, dim: o.dim, seed: o.seed, tableId: o.tableId, initStd: o.initStd, optimizer: o.optimizer, kernels,
    firstRow: at.firstRow, tableRows: at.tableRows, init: o.init,
  };
  const stepSizes = { stepLr: o.stepLr, stepLrScale: o.stepLrScale, stepOptimizer: o.stepOptimizer, initStep: o.initStep };
  switch (o.method) {
    case 'fp32':
      return new Fp32Table(base);
    case 'lpt-dr':
    case 'lpt-sr':
      return new QuantizedTable({
        ...base, ...stepSizes, bits: o.bits, stepDtype: o.stepDtype, stepSizeMode: 'fixed',
        rounding: o.method === 'lpt-dr' ? 'deterministic' : 'stochastic',
      });
    case 'alpt':
    case 'alpt-fast':
      return new AlptTable({
        ...base, ...stepSizes, bits: o.bits, stepDtype: o.stepDtype, rounding: 'stochastic', passes: o.method === 'alpt' ? 2 : 1,
      });
    case 'lsq':
      return new LsqTable({ ...base, ...stepSizes, bits: o.bits, perRow: o.lsqPerRow });
    default:
      throw new Error(`unknown embedding method '${(o as { method: string }).method}'`);
  }
}
