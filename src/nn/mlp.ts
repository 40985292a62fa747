// MLP tower as in torch_ref: for each hidden size, Linear → BatchNorm1d (optional) → ReLU
// (→ Dropout if rate > 0). Indices in param names follow that order (torch nn.Sequential style).

import type { Backend } from '../kernels/backend.js';
import { BatchNorm1d } from './batchnorm.js';
import { Dropout } from './dropout.js';
import type { Layer } from './layer.js';
import { Linear } from './linear.js';
import { ReLU } from './relu.js';
import { Identity, Sequential } from './sequential.js';

export interface MlpOptions {
  /** BatchNorm1d after each Linear (default true). */
  batchNorm?: boolean;
  /** Dropout rate after each ReLU (default 0: none). */
  dropout?: number;
  seed?: number;
  /** Ids idBase, idBase+1, … go to the Linear (and Dropout) layers, one per hidden layer. */
  idBase?: number;
  /** Compute dx for the MLP input (default true). */
  inputGrad?: boolean;
}

/** Build the MLP tower; returns a Sequential whose outDim is the last hidden size (or inDim). */
export function buildMlp(backend: Backend, inDim: number, hidden: number[], opts: MlpOptions = {}): Sequential {
  const layers: Layer[] = [];
  const seed = opts.seed ?? 0;
  const idBase = opts.idBase ?? 0;
  const bn = opts.batchNorm !== false;
  const rate = opts.dropout ?? 0;
  let d = inDim;
  hidden.forEach((h, i) => {
    layers.push(new Linear(backend, d, h, { seed, id: idBase + i, inputGrad: i > 0 || opts.inputGrad !== false }));
    const relu = new ReLU(backend, h);
    if (bn) {
      const norm = new BatchNorm1d(backend, h);
      norm.fuseReLU(relu); // the ReLU stays in the list (param indices as torch) but passes through
      layers.push(norm);
    }
    layers.push(relu);
    if (rate > 0) layers.push(new Dropout(backend, h, rate, { seed, id: idBase + i }));
    d = h;
  });
  if (layers.length === 0) layers.push(new Identity(inDim));
  return new Sequential(layers);
}
