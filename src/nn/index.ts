// Dense layers with explicit forward/backward, losses, optimizers and checks.

export type { Layer, Param, NamedBuffer, LayerExtras } from './layer.js';
export { RowBuffer, makeParam, addInto, columnSums, prefixParams, buffersOf } from './buffers.js';
export { Linear, initLinear } from './linear.js';
export type { LinearOptions, InitOptions } from './linear.js';
export { ReLU } from './relu.js';
export { BatchNorm1d } from './batchnorm.js';
export type { BatchNormOptions } from './batchnorm.js';
export { Dropout } from './dropout.js';
export type { DropoutOptions } from './dropout.js';
export { CrossNetwork } from './cross.js';
export type { CrossOptions } from './cross.js';
export { CrossNetworkV2 } from './cross-v2.js';
export type { CrossV2Options } from './cross-v2.js';
export { FM, BiInteraction } from './fm.js';
export { InnerProduct } from './inner-product.js';
export { BCEWithLogitsLoss, sigmoid, sigmoidInto, bceWithLogits, meanBceWithLogits } from './loss.js';
export { Sequential, Identity } from './sequential.js';
export { buildMlp } from './mlp.js';
export type { MlpOptions } from './mlp.js';
export { Concat, concatRows, splitRows } from './concat.js';
export { Parallel } from './parallel.js';
export { Adam, SGD } from './optim.js';
export type { Optimizer, AdamOptions, SgdOptions } from './optim.js';
export { gradCheck, compareGrad } from './gradcheck.js';
export type { GradCheckOptions, GradCheckResult, GradCheckEntry } from './gradcheck.js';
