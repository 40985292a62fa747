// Public surface of the quantization primitives.
export * from './pack.js';
export * from './round.js';
export * from './lsq.js';
export * from './fp16.js';
