// --memory-light: the smallest ALPT table that loses no accuracy that matters (docs/big-tables.md:
// within 0.001 test AUC of Adam on Δ on Frappe): row-wise Adagrad on the weights (4 bytes a row),
// f16 step sizes (2 bytes) and the light step-size optimizer below. At 4 bits and d = 16: codes 8 +
// Δ 2 + row-wise Adagrad 4 (+ the step optimizer's state) bytes per row, against 192 for fp32 + Adam.
// Flags given explicitly win over these.
import type { TrainConfig } from './config.js';

export const MEMORY_LIGHT: Partial<TrainConfig> = {
  sparseOptimizer: 'rowwise-adagrad',
  // Adagrad's steps shrink as 1/sqrt(Σg²): it wants a larger learning rate than Adam's 1e-3
  sparseLr: 0.05,
  stepDtype: 'f16',
  stepOptimizer: 'sgd',
};

/** cfg with the memory-light settings where `explicit` (config keys set by the user) does not set them. */
export function applyMemoryLight(cfg: TrainConfig, explicit: ReadonlySet<string>): TrainConfig {
  if (!cfg.memoryLight) return cfg;
  const out = { ...cfg } as Record<string, unknown>;
  for (const [k, v] of Object.entries(MEMORY_LIGHT)) if (!explicit.has(k)) out[k] = v;
  return out as unknown as TrainConfig;
}
