// Public surface of the embedding tables.
export * from './table.js';
export * from './sparse-optimizer.js';
export * from './steps.js';
export * from './memory.js';
export * from './init.js';
export * from './fp32-table.js';
export * from './quantized-table.js';
export * from './lsq-table.js';
export * from './factory.js';
