// The dense layers of the zoo lowered to ONNX ops, from the live layer objects (weights loaded):
// Linear → Gemm (W stays [out × in], transB = 1), with an inference BatchNorm right after it
// folded into W and b; ReLU → Relu; Dropout and Identity vanish; Sequential chains, Parallel
// concatenates; DCN's and DCN-V2's cross networks, FM and IPNN's inner products as their formulas.
// Every value is [batch × width] float.
import type { Layer } from '../nn/layer.js';
import { Linear } from '../nn/linear.js';
import { BatchNorm1d } from '../nn/batchnorm.js';
import { ReLU } from '../nn/relu.js';
import { Dropout } from '../nn/dropout.js';
import { Identity, Sequential } from '../nn/sequential.js';
import { Parallel } from '../nn/parallel.js';
import { CrossNetwork } from '../nn/cross.js';
import { CrossNetworkV2 } from '../nn/cross-v2.js';
import { BiInteraction, FM } from '../nn/fm.js';
import { InnerProduct } from '../nn/inner-product.js';
import type { GraphBuilder } from './onnx-graph.js';

/** Inference BatchNorm as y = x·a + c: a = γ/√(σ² + ε), c = β − μ·a (float64, rounded once). */
export function batchNormAffine(bn: BatchNorm1d): { a: Float64Array; c: Float64Array } {
  const n = bn.inDim;
  const a = new Float64Array(n);
  const c = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    a[j] = bn.gamma.value[j] / Math.sqrt(bn.runningVar[j] + bn.eps);
    c[j] = bn.beta.value[j] - bn.runningMean[j] * a[j];
  }
  return { a, c };
}

/** Linear (W [out × in], b) followed by BN: W' = diag(a)·W, b' = a·b + c. */
export function foldBatchNorm(lin: Linear, bn: BatchNorm1d): { w: Float32Array; b: Float32Array } {
  const { a, c } = batchNormAffine(bn);
  const out = lin.outDim;
  const inDim = lin.inDim;
  const w = new Float32Array(out * inDim);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    for (let k = 0; k < inDim; k++) w[o * inDim + k] = a[o] * lin.weight.value[o * inDim + k];
    b[o] = a[o] * (lin.bias ? lin.bias.value[o] : 0) + c[o];
  }
  return { w, b };
}

function gemm(g: GraphBuilder, x: string, w: Float32Array, b: Float32Array | null, out: number, inDim: number, name: string): string {
  const W = g.init(`${name}.weight`, 'float', [out, inDim], w);
  const inputs = b ? [x, W, g.init(`${name}.bias`, 'float', [out], b)] : [x, W];
  return g.op('Gemm', inputs, { transB: 1 }, name);
}

/** The output of `layer` applied to x [batch × layer.inDim]; `name` prefixes initializers. */
export function lowerLayer(g: GraphBuilder, layer: Layer, x: string, name: string): string {
  if (layer instanceof Sequential) {
    let h = x;
    const ls = layer.layers;
    for (let i = 0; i < ls.length; i++) {
      const l = ls[i];
      const next = ls[i + 1];
      if (l instanceof Linear && next instanceof BatchNorm1d) {
        const { w, b } = foldBatchNorm(l, next);
        h = gemm(g, h, w, b, l.outDim, l.inDim, `${name}.${i}+${i + 1}`);
        i++;
      } else h = lowerLayer(g, l, h, `${name}.${i}`);
    }
    return h;
  }
  if (layer instanceof Linear) return gemm(g, x, layer.weight.value, layer.bias?.value ?? null, layer.outDim, layer.inDim, name);
  if (layer instanceof BatchNorm1d) {
    const { a, c } = batchNormAffine(layer);
    const y = g.op('Mul', [x, g.floats(`${name}.scale`, a)], {}, `${name}.scaled`);
    return g.op('Add', [y, g.floats(`${name}.shift`, c)], {}, name);
  }
  if (layer instanceof ReLU) return g.op('Relu', [x], {}, name);
  if (layer instanceof Dropout || layer instanceof Identity) return x;
  if (layer instanceof Parallel) {
    const parts = layer.branches.map((b, k) => lowerLayer(g, b, x, `${name}.${k}`));
    return parts.length === 1 ? parts[0] : g.op('Concat', parts, { axis: 1 }, name);
  }
  if (layer instanceof CrossNetwork) return lowerCross(g, layer, x, name);
  if (layer instanceof CrossNetworkV2) return lowerCrossV2(g, layer, x, name);
  if (layer instanceof FM || layer instanceof BiInteraction) return lowerPairwise(g, layer.numFields, layer.dim, layer instanceof FM, x, name);
  if (layer instanceof InnerProduct) return lowerInnerProduct(g, layer, x, name);
  throw new Error(`onnx export: no lowering for layer ${layer.constructor.name} at '${name}'`);
}

/** x_{l+1} = x0 ⊙ (x_l·w_l) + b_l + x_l, in alpt's order of additions. */
function lowerCross(g: GraphBuilder, c: CrossNetwork, x0: string, name: string): string {
  let xl = x0;
  for (let l = 0; l < c.numLayers; l++) {
    const w = g.init(`${name}.w.${l}`, 'float', [c.dim, 1], c.w[l].value);
    const s = g.op('MatMul', [xl, w], {}, `${name}.s.${l}`);
    const t = g.op('Add', [g.op('Mul', [x0, s], {}, `${name}.x0s.${l}`), g.init(`${name}.b.${l}`, 'float', [c.dim], c.b[l].value)], {}, `${name}.x0sb.${l}`);
    xl = g.op('Add', [t, xl], {}, `${name}.x.${l + 1}`);
  }
  return xl;
}

/** x_{l+1} = x0 ⊙ (x_l·W_lᵀ + b_l) + x_l. */
function lowerCrossV2(g: GraphBuilder, c: CrossNetworkV2, x0: string, name: string): string {
  let xl = x0;
  for (let l = 0; l < c.numLayers; l++) {
    const u = gemm(g, xl, c.W[l].value, c.b[l].value, c.dim, c.dim, `${name}.${l}`);
    xl = g.op('Add', [g.op('Mul', [x0, u], {}, `${name}.x0u.${l}`), xl], {}, `${name}.x.${l + 1}`);
  }
  return xl;
}

/** FM: ½(Σ_k (Σ_f v_fk)² − Σ_{f,k} v_fk²) [B × 1]; BiInteraction: the per-k terms [B × d]. */
function lowerPairwise(g: GraphBuilder, F: number, d: number, total: boolean, x: string, name: string): string {
  const v = g.op('Reshape', [x, g.ints('shape.fields', [0, F, d])], {}, `${name}.fields`);
  const axis1 = g.ints('axis.1', [1]);
  const s = g.op('ReduceSum', [v, axis1], { keepdims: 0 }, `${name}.sum`); // [B × d]
  const s2 = g.op('Mul', [s, s], {}, `${name}.sum2`);
  if (total) {
    const a = g.op('ReduceSum', [s2, axis1], { keepdims: 1 }, `${name}.sum2.total`);
    const q = g.op('ReduceSum', [g.op('Mul', [x, x], {}, `${name}.sq`), axis1], { keepdims: 1 }, `${name}.sq.total`);
    return g.op('Mul', [g.op('Sub', [a, q], {}, `${name}.diff`), g.scalar('half', 0.5)], {}, name);
  }
  const q = g.op('ReduceSum', [g.op('Mul', [v, v], {}, `${name}.sq`), axis1], { keepdims: 0 }, `${name}.sq.sum`);
  return g.op('Mul', [g.op('Sub', [s2, q], {}, `${name}.diff`), g.scalar('half', 0.5)], {}, name);
}

/** ⟨v_i, v_j⟩ for i < j in row-major pair order: the upper triangle of V·Vᵀ. */
function lowerInnerProduct(g: GraphBuilder, p: InnerProduct, x: string, name: string): string {
  const F = p.numFields;
  const v = g.op('Reshape', [x, g.ints('shape.fields', [0, F, p.dim])], {}, `${name}.fields`);
  const vt = g.op('Transpose', [v], { perm: [0, 2, 1] }, `${name}.fieldsT`);
  const gram = g.op('Reshape', [g.op('MatMul', [v, vt], {}, `${name}.gram`), g.ints('shape.gram', [0, F * F])], {}, `${name}.gram.flat`);
  const pairs: number[] = [];
  for (let i = 0; i < F; i++) for (let j = i + 1; j < F; j++) pairs.push(i * F + j);
  return g.op('Gather', [gram, g.ints(`${name}.pairs`, pairs)], { axis: 1 }, name);
}
