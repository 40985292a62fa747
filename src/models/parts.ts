// Building blocks shared by the model files: the deep tower with its output unit, and layer ids
// that keep every layer's initialisation stream distinct.

import { buildMlp } from '../nn/mlp.js';
import { Linear } from '../nn/linear.js';
import { Sequential } from '../nn/sequential.js';
import type { Layer } from '../nn/layer.js';
import type { ModelContext } from './model.js';

export const LayerId = { mlp: 0, cross: 100, output: 200, headMlp: 300 } as const;

/** MLP tower (Linear → BatchNorm → ReLU per hidden size) on inDim inputs. */
export function mlpTower(ctx: ModelContext, inDim: number, idBase: number = LayerId.mlp): Sequential {
  return buildMlp(ctx.backend, inDim, ctx.mlp, { batchNorm: ctx.batchNorm, dropout: ctx.dropout, seed: ctx.seed, idBase });
}

/** layer → Linear(outDim, 1): one logit per example. */
export function withOutput(ctx: ModelContext, layer: Layer, id: number = LayerId.output): Sequential {
  return new Sequential([layer, new Linear(ctx.backend, layer.outDim, 1, { seed: ctx.seed, id })]);
}

export const inputWidth = (ctx: ModelContext) => ctx.numFields * ctx.dim;
