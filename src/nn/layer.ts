// Layers own explicit forward and backward (llm.c-style, no autograd). A layer keeps the
// activations its backward needs and owns its output and input-gradient buffers, sized once for the
// largest batch seen and reused, so a training step allocates nothing.

export interface Param {
  name: string;
  value: Float32Array;
  grad: Float32Array;
  /** Whether L2 weight decay applies (weights yes, biases and norms no). */
  decay: boolean;
}

export interface Layer {
  /** Input width per example. */
  readonly inDim: number;
  /** Output width per example. */
  readonly outDim: number;
  /** y[batch×outDim] = f(x[batch×inDim]); the returned buffer is owned by the layer. */
  forward(x: Float32Array, batch: number, training: boolean): Float32Array;
  /**
   * Given dy[batch×outDim] for the last forward, accumulate parameter gradients (overwrite, not
   * add: one backward per step) and return dx[batch×inDim], owned by the layer.
   */
  backward(dy: Float32Array, batch: number): Float32Array;
  params(): Param[];
}

/** A named persistent non-parameter tensor (e.g. BatchNorm running statistics), for checkpoints. */
export interface NamedBuffer {
  name: string;
  value: Float32Array;
}

/**
 * Optional extras a layer may implement (all optional, so plain Layers stay valid):
 * - buffers(): persistent non-trainable state to save/restore (running mean/var, ...).
 * - setStep(step): the global training step, for counter-based randomness (dropout masks).
 * - setTrackRunningStats(on): whether training forwards update BatchNorm running statistics
 *   (containers forward it to their children).
 */
export interface LayerExtras {
  /** Skip parameter gradients in backward (ALPT's second pass only needs the input gradient). */
  setParamGrads?(on: boolean): void;
  buffers?(): NamedBuffer[];
  setStep?(step: number): void;
  setTrackRunningStats?(on: boolean): void;
}
