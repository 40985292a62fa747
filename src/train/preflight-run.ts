// The pre-flight memory check of a training run (src/embedding/preflight.ts) with its tables: the
// main embedding table and, for models with first-order terms, the fp32 first-order table.
import type { Backend } from '../kernels/backend.js';
import { estimateTable, memoryAvailable, preflight, type TableShape } from '../embedding/preflight.js';
import type { TrainConfig } from './config.js';
import { MEMORY_LIGHT } from './memory-light.js';

export function checkRunMemory(cfg: TrainConfig, rows: number, backend: Backend, usesFirstOrder: boolean, numFields = 0): void {
  const main: TableShape = {
    method: cfg.embedding, rows, dim: cfg.dim, bits: cfg.embedding === 'fp32' ? 32 : cfg.bits,
    optimizer: cfg.sparseOptimizer, stepDtype: cfg.stepDtype, stepOptimizer: cfg.stepOptimizer, lsqPerRow: cfg.lsqPerRow,
  };
  const tables = [{ name: 'embedding table', shape: main }];
  if (usesFirstOrder) {
    tables.push({ name: 'first-order table', shape: { method: 'fp32', rows, dim: 1, bits: 32, optimizer: cfg.sparseOptimizer } });
  }
  const q = cfg.embedding === 'fp32' || cfg.embedding === 'lsq' ? 'alpt' : cfg.embedding;
  const light = (bits: number): TableShape => ({
    ...main, method: q, bits, optimizer: MEMORY_LIGHT.sparseOptimizer!, stepDtype: MEMORY_LIGHT.stepDtype, stepOptimizer: MEMORY_LIGHT.stepOptimizer,
  });
  const alternatives = [
    { label: '--sparse-optimizer rowwise-adagrad', shape: { ...main, optimizer: 'rowwise-adagrad' as const } },
    ...(cfg.embedding === 'fp32' || cfg.embedding === 'lsq' ? [{ label: `--embedding alpt --bits 4`, shape: { ...main, method: 'alpt' as const, bits: 4 } }] : []),
    { label: `--embedding ${q} --bits 4 --memory-light`, shape: light(4) },
    { label: `--embedding ${q} --bits 2 --memory-light`, shape: light(2) },
    ...hashAlternative(cfg, rows, numFields, light(4), q),
  ];
  const r = preflight({ tables, wasm: backend.sparse !== undefined, shards: backend.newSparseShard !== undefined, alternatives });
  if (r.wasmWarning) process.stderr.write(`alpt: warning: ${r.wasmWarning}\n`);
}

/**
 * `--hash-rows N` (bounded rows, whatever the vocabulary): the largest power of ten per field whose
 * memory-light 4-bit table takes at most half the memory available, when that is fewer rows than now.
 */
function hashAlternative(cfg: TrainConfig, rows: number, F: number, light4: TableShape, q: string): { label: string; shape: TableShape }[] {
  if (F < 1) return [];
  const perRow = estimateTable({ ...light4, rows: 1 << 20 }).total / (1 << 20);
  const budget = memoryAvailable().available / 2;
  let n = 10 ** Math.floor(Math.log10(Math.max(1, budget / (perRow * F))));
  n = Math.min(n, 10 ** 7);
  if (n < 1000 || n * F >= rows || (cfg.hashRows && n >= Math.max(...cfg.hashRows))) return [];
  return [{ label: `--hash-rows ${n} --embedding ${q} --bits 4 --memory-light`, shape: { ...light4, rows: n * F } }];
}
