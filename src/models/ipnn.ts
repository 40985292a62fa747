// IPNN (Qu et al. 2016): [x0 ‖ pairwise inner products] → MLP → logit.
import { InnerProduct } from '../nn/inner-product.js';
import { Identity } from '../nn/sequential.js';
import { Parallel } from '../nn/parallel.js';
import { TermModel } from './term-model.js';
import { inputWidth, mlpTower, withOutput } from './parts.js';
import { Sequential } from '../nn/sequential.js';
import type { ModelContext } from './model.js';

export function buildIpnn(ctx: ModelContext): TermModel {
  const d = inputWidth(ctx);
  const product = new Parallel(ctx.backend, [new Identity(d), new InnerProduct(ctx.backend, ctx.numFields, ctx.dim)]);
  const layer = withOutput(ctx, new Sequential([product, mlpTower(ctx, product.outDim)]));
  return new TermModel(ctx.backend, 'ipnn', ctx.numFields, ctx.dim, [{ name: 'head', layer }], false);
}
