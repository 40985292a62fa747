// DNN: the concatenated field embeddings through an MLP to one logit.
import { TermModel } from './term-model.js';
import { inputWidth, mlpTower, withOutput } from './parts.js';
import type { ModelContext } from './model.js';

export const buildDnn = (ctx: ModelContext) =>
  new TermModel(ctx.backend, 'dnn', ctx.numFields, ctx.dim, [{ name: 'deep', layer: withOutput(ctx, mlpTower(ctx, inputWidth(ctx))) }], false);
