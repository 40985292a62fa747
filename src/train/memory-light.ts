// --memory-light: the smallest ALPT table that loses no accuracy that matters (docs/big-tables.md §4:
// within 0.001 test AUC of Adam on Δ on Frappe, 3 seeds × 8/4/2 bits): row-wise Adagrad on the
// weights (4 bytes a row), f16 step sizes (2 bytes) and plain SGD on them (no state) with a step-size
// rate of 10 × Δ0. At 4 bits and d = 16: codes 8 + Δ 2 + row-wise Adagrad 4 = 14 bytes per row,
// against 192 for fp32 + Adam. Flags given explicitly win over these.
import type { TrainConfig } from './config.js';

export const MEMORY_LIGHT: Partial<TrainConfig> = {
  sparseOptimizer: 'rowwise-adagrad',
  // Adagrad's steps shrink as 1/sqrt(Σg²): it wants a larger learning rate than Adam's 1e-3
  sparseLr: 0.05,
  stepDtype: 'f16',
  stepOptimizer: 'sgd',
  // The LSQ gradient of a row's Δ is small (|g| ~ 1e-4…1e-3 on Frappe: a batch-mean loss, times
  // 1/sqrt(dim·Q_P)): at the default 0.01 × Δ0, SGD leaves Δ within 0.3 % of Δ0 (fixed-Δ LPT).
  // 10 × Δ0 moves it about as far as Adam does at 4 and 2 bits (docs/big-tables.md §4). Relative
  // to Δ0, so stepLrScale goes with it.
  stepLr: 10,
  stepLrScale: 'relative',
};

/** Settings that belong together: the step lr of 10 × Δ0 is SGD's, relative to Δ0. */
const TIED_TO_STEP_SGD: ReadonlySet<string> = new Set(['stepLr', 'stepLrScale']);

/**
 * cfg with the memory-light settings where `explicit` (config keys set by the user) does not set them.
 * The step-size lr (10, relative) is SGD's: it is left at cfg's value when the user chose the step
 * optimizer or the lr scale (10 × Δ0 for Adam or Adagrad, or 10 absolute, would be far too large).
 */
export function applyMemoryLight(cfg: TrainConfig, explicit: ReadonlySet<string>): TrainConfig {
  if (!cfg.memoryLight) return cfg;
  const out = { ...cfg } as Record<string, unknown>;
  const ownStepOptimizer = explicit.has('stepOptimizer') || explicit.has('stepLrScale');
  for (const [k, v] of Object.entries(MEMORY_LIGHT)) {
    if (explicit.has(k) || (ownStepOptimizer && TIED_TO_STEP_SGD.has(k))) continue;
    out[k] = v;
  }
  return out as unknown as TrainConfig;
}
