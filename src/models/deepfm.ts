// DeepFM (Guo et al. 2017): first-order + FM + deep tower, all on the same embeddings.
import { FM } from '../nn/fm.js';
import { TermModel } from './term-model.js';
import { inputWidth, mlpTower, withOutput } from './parts.js';
import type { ModelContext } from './model.js';

export const buildDeepFm = (ctx: ModelContext) =>
  new TermModel(
    ctx.backend,
    'deepfm',
    ctx.numFields,
    ctx.dim,
    [
      { name: 'fm', layer: new FM(ctx.backend, ctx.numFields, ctx.dim) },
      { name: 'deep', layer: withOutput(ctx, mlpTower(ctx, inputWidth(ctx))) },
    ],
    true,
  );
