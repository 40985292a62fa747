// Wide & Deep (Cheng et al. 2016): a wide first-order term plus the deep tower.
import { TermModel } from './term-model.js';
import { inputWidth, mlpTower, withOutput } from './parts.js';
import type { ModelContext } from './model.js';

export const buildWideDeep = (ctx: ModelContext) =>
  new TermModel(ctx.backend, 'wide-deep', ctx.numFields, ctx.dim, [{ name: 'deep', layer: withOutput(ctx, mlpTower(ctx, inputWidth(ctx))) }], true);
