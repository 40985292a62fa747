// The dense optimizer named by the config (Adam with optional L2, or SGD).
import type { Backend } from '../kernels/backend.js';
import { Adam, SGD } from '../nn/optim.js';
import type { Param } from '../nn/layer.js';
import type { TrainConfig } from './config.js';
import type { DenseOptimizer } from './dense-optimizer.js';

/** With a backend, Adam's moments live in its memory and its element-wise kernels do the update. */
export function createDenseOptimizer(params: Param[], cfg: TrainConfig, backend?: Backend): DenseOptimizer {
  return cfg.optimizer === 'sgd'
    ? new SGD(params, { lr: cfg.lr, weightDecay: cfg.weightDecay })
    : new Adam(params, { lr: cfg.lr, weightDecay: cfg.weightDecay, backend });
}
