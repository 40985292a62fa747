// DCN-V2 (Wang et al. 2021), full-rank cross layers, parallel structure: [MLP ‖ CrossV2] → Linear.
import { CrossNetworkV2 } from '../nn/cross-v2.js';
import { Parallel } from '../nn/parallel.js';
import { TermModel } from './term-model.js';
import { LayerId, inputWidth, mlpTower, withOutput } from './parts.js';
import type { ModelContext } from './model.js';

export function buildDcnV2(ctx: ModelContext): TermModel {
  const d = inputWidth(ctx);
  const head = new Parallel(ctx.backend, [mlpTower(ctx, d), new CrossNetworkV2(ctx.backend, d, ctx.crossLayers, { seed: ctx.seed, id: LayerId.cross })]);
  return new TermModel(ctx.backend, 'dcn-v2', ctx.numFields, ctx.dim, [{ name: 'head', layer: withOutput(ctx, head) }], false);
}
