// Sequential composition of Layers; itself a Layer.

import { prefixParams } from './buffers.js';
import type { Layer, LayerExtras, NamedBuffer, Param } from './layer.js';

export class Sequential implements Layer, LayerExtras {
  readonly inDim: number;
  readonly outDim: number;
  private cachedParams: Param[] | null = null;

  constructor(readonly layers: Layer[]) {
    if (layers.length === 0) throw new Error('Sequential needs at least one layer');
    for (let i = 1; i < layers.length; i++) {
      if (layers[i - 1].outDim !== layers[i].inDim)
        throw new Error(`Sequential: layer ${i - 1} outDim ${layers[i - 1].outDim} ≠ layer ${i} inDim ${layers[i].inDim}`);
    }
    this.inDim = layers[0].inDim;
    this.outDim = layers[layers.length - 1].outDim;
  }

  forward(x: Float32Array, batch: number, training: boolean): Float32Array {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) h = this.layers[i].forward(h, batch, training);
    return h;
  }

  backward(dy: Float32Array, batch: number): Float32Array {
    let g = dy;
    for (let i = this.layers.length - 1; i >= 0; i--) g = this.layers[i].backward(g, batch);
    return g;
  }

  /** Params named like torch's nn.Sequential state dict: `${index}.${name}`. */
  params(): Param[] {
    if (!this.cachedParams) {
      const out: Param[] = [];
      this.layers.forEach((l, i) => out.push(...prefixParams(`${i}.`, l.params())));
      this.cachedParams = out;
    }
    return this.cachedParams;
  }

  buffers(): NamedBuffer[] {
    const out: NamedBuffer[] = [];
    this.layers.forEach((l, i) => {
      const e = l as Layer & LayerExtras;
      if (e.buffers) for (const b of e.buffers()) out.push({ name: `${i}.${b.name}`, value: b.value });
    });
    return out;
  }

  setStep(step: number): void {
    for (const l of this.layers) {
      const e = l as Layer & LayerExtras;
      if (e.setStep) e.setStep(step);
    }
  }

  /** Enable/disable running-stat updates of every BatchNorm1d inside (recursively). */
  setParamGrads(on: boolean): void {
    for (const l of this.layers) (l as Layer & LayerExtras).setParamGrads?.(on);
  }

  setTrackRunningStats(on: boolean): void {
    for (const l of this.layers) (l as Layer & LayerExtras).setTrackRunningStats?.(on);
  }
}

/** Identity layer: returns its input (and dy) buffers unchanged. */
export class Identity implements Layer {
  readonly outDim: number;
  constructor(readonly inDim: number) {
    this.outDim = inDim;
  }
  forward(x: Float32Array, _batch: number, _training: boolean): Float32Array {
    return x;
  }
  backward(dy: Float32Array, _batch: number): Float32Array {
    return dy;
  }
  params(): Param[] {
    return [];
  }
}
