// Logistic regression: bias + one weight per feature value (the first-order term alone).
import { TermModel } from './term-model.js';
import type { ModelContext } from './model.js';

export const buildLr = (ctx: ModelContext) => new TermModel(ctx.backend, 'lr', ctx.numFields, ctx.dim, [], true);
