// DCN (Wang et al. 2017), as torch_ref: [MLP(x0) ‖ CrossNet(x0)] → Linear → logit.
import { CrossNetwork } from '../nn/cross.js';
import { Parallel } from '../nn/parallel.js';
import { TermModel } from './term-model.js';
import { LayerId, inputWidth, mlpTower, withOutput } from './parts.js';
import type { ModelContext } from './model.js';

export function buildDcn(ctx: ModelContext): TermModel {
  const d = inputWidth(ctx);
  const head = new Parallel(ctx.backend, [mlpTower(ctx, d), new CrossNetwork(ctx.backend, d, ctx.crossLayers, { seed: ctx.seed, id: LayerId.cross })]);
  return new TermModel(ctx.backend, 'dcn', ctx.numFields, ctx.dim, [{ name: 'head', layer: withOutput(ctx, head) }], false);
}
