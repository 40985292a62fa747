// A CTR model: embedding inputs in, one logit per example out, with explicit backward.
// Tables stay outside (the trainer owns lookups), so any table type drops in unchanged.

import type { Backend } from '../kernels/backend.js';
import type { Param } from '../nn/layer.js';

export interface ModelInputs {
  /** Field embeddings [batch × fields·dim], example-major. */
  x0: Float32Array;
  /** First-order (linear) weights [batch × fields], for models that declare usesFirstOrder. */
  first?: Float32Array;
}

export interface ModelGrads {
  dx0: Float32Array;
  dfirst?: Float32Array;
}

export interface CtrModel {
  readonly name: string;
  /** Whether the model reads x0 (LR does not). */
  readonly usesEmbedding: boolean;
  /** Whether the model has a first-order term (an fp32 dim-1 table per feature value). */
  readonly usesFirstOrder: boolean;
  /** logits[batch]; the buffer is owned by the model. */
  forward(inputs: ModelInputs, batch: number, training: boolean): Float32Array;
  /** From dlogits[batch]: parameter gradients (overwritten) and the inputs' gradients. */
  backward(dlogits: Float32Array, batch: number): ModelGrads;
  params(): Param[];
  /** Non-trainable state that a checkpoint must keep (BatchNorm running statistics). */
  buffers(): Record<string, Float32Array>;
  /** Skip parameter gradients in backward (ALPT's second pass needs only ∂L/∂x0). */
  setParamGrads?(on: boolean): void;
  /** Training step counter for layers that draw randomness (dropout). */
  setStep?(step: number): void;
}

export interface ModelContext {
  backend: Backend;
  numFields: number;
  dim: number;
  mlp: number[];
  crossLayers: number;
  batchNorm: boolean;
  dropout: number;
  seed: number;
}

export type ModelBuilder = (ctx: ModelContext) => CtrModel;
