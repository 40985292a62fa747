// `alpt memory`: bytes per row of each method, read off real table allocations (not a formula).
import { memoryGrid, memoryMarkdown } from '../embedding/memory-report.js';
import type { EmbeddingMethod } from '../train/config.js';
import type { SparseOptimizerName } from '../embedding/table.js';

export async function runMemory(o: Record<string, string | boolean | undefined>): Promise<void> {
  const rows = memoryGrid({
    rows: Number(o.rows),
    dim: Number(o.dim),
    bits: String(o.bits).split(',').map(Number),
    methods: String(o.methods).split(',') as EmbeddingMethod[],
    optimizers: String(o.sparseOptimizer).split(',') as SparseOptimizerName[],
    stepDtype: o.stepDtype as 'f32' | 'f16' | undefined,
    stepOptimizer: o.stepOptimizer as 'adam' | 'adagrad' | 'sgd' | undefined,
  });
  if (o.json) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(memoryMarkdown(rows));
}
