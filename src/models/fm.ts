// Factorization machine (Rendle 2010): first-order term + pairwise interactions of the embeddings.
import { FM } from '../nn/fm.js';
import { TermModel } from './term-model.js';
import type { ModelContext } from './model.js';

export const buildFm = (ctx: ModelContext) =>
  new TermModel(ctx.backend, 'fm', ctx.numFields, ctx.dim, [{ name: 'fm', layer: new FM(ctx.backend, ctx.numFields, ctx.dim) }], true);
