// Every model in the zoo is a sum of logit terms: an optional first-order term (bias + one fp32
// weight per feature value) plus layers that map the field embeddings x0 to one logit each
// (FM, a deep tower, a cross+deep head…). The model files only say which terms.

import type { Backend, ElementwiseOps } from '../kernels/backend.js';
import { opsOf } from '../kernels/ops-js.js';
import type { Layer, LayerExtras, Param } from '../nn/layer.js';
import { prefixParams, makeParam, RowBuffer } from '../nn/buffers.js';
import type { CtrModel, ModelGrads, ModelInputs } from './model.js';

export interface Term {
  name: string;
  layer: Layer;
}

export class TermModel implements CtrModel {
  readonly usesEmbedding: boolean;
  private readonly bias: Param | null;
  private readonly logits: RowBuffer;
  private readonly dx0: RowBuffer;
  private readonly ops: ElementwiseOps;
  private readonly dfirst: RowBuffer;
  private readonly paramList: Param[];

  constructor(
    backend: Backend,
    readonly name: string,
    readonly numFields: number,
    readonly dim: number,
    readonly terms: Term[],
    readonly usesFirstOrder: boolean,
  ) {
    for (const t of terms) {
      if (t.layer.inDim !== numFields * dim || t.layer.outDim !== 1)
        throw new Error(`${name}: term ${t.name} maps ${t.layer.inDim} → ${t.layer.outDim}, expected ${numFields * dim} → 1`);
    }
    this.usesEmbedding = terms.length > 0;
    this.bias = usesFirstOrder ? makeParam(backend, 'first.bias', 1, false) : null;
    this.logits = new RowBuffer(backend, 1);
    this.dx0 = new RowBuffer(backend, numFields * dim);
    this.ops = opsOf(backend);
    this.dfirst = new RowBuffer(backend, numFields);
    this.paramList = [...(this.bias ? [this.bias] : []), ...terms.flatMap((t) => prefixParams(`${t.name}.`, t.layer.params()))];
  }

  forward(inputs: ModelInputs, batch: number, training: boolean): Float32Array {
    const z = this.logits.get(batch);
    if (this.bias && inputs.first) {
      const F = this.numFields;
      const w = inputs.first;
      const b = this.bias.value[0];
      for (let i = 0; i < batch; i++) {
        let s = b;
        for (let f = 0; f < F; f++) s += w[i * F + f];
        z[i] = s;
      }
    } else z.fill(0);
    for (const t of this.terms) {
      const y = t.layer.forward(inputs.x0, batch, training);
      for (let i = 0; i < batch; i++) z[i] += y[i];
    }
    return z;
  }

  backward(dlogits: Float32Array, batch: number): ModelGrads {
    const out: ModelGrads = { dx0: this.dx0.get(batch) };
    if (this.bias) {
      const F = this.numFields;
      const df = this.dfirst.get(batch);
      let sb = 0;
      for (let i = 0; i < batch; i++) {
        const g = dlogits[i];
        sb += g;
        for (let f = 0; f < F; f++) df[i * F + f] = g;
      }
      this.bias.grad[0] = sb;
      out.dfirst = df;
    }
    const n = batch * this.numFields * this.dim;
    if (this.terms.length === 1) {
      // One term: its layer's input gradient is dx0 (valid until the next backward), no copy.
      out.dx0 = this.terms[0].layer.backward(dlogits, batch).subarray(0, n);
      return out;
    }
    this.terms.forEach((t, k) => {
      const g = t.layer.backward(dlogits, batch);
      if (k === 0) out.dx0.set(g.subarray(0, n));
      else this.ops.addInto(out.dx0, g, n);
    });
    if (this.terms.length === 0) out.dx0.fill(0);
    return out;
  }

  params(): Param[] {
    return this.paramList;
  }

  buffers(): Record<string, Float32Array> {
    const out: Record<string, Float32Array> = {};
    for (const t of this.terms) for (const b of (t.layer as Layer & LayerExtras).buffers?.() ?? []) out[`${t.name}.${b.name}`] = b.value;
    return out;
  }

  setParamGrads(on: boolean): void {
    for (const t of this.terms) (t.layer as Layer & LayerExtras).setParamGrads?.(on);
  }

  setStep(step: number): void {
    for (const t of this.terms) (t.layer as Layer & LayerExtras).setStep?.(step);
  }
}
