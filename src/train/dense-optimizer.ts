// What the trainer needs of a dense optimizer (nn/optim.ts implements it).
export interface DenseOptimizer {
  lr: number;
  step(): void;
  state(): Record<string, Float32Array>;
  load(state: Record<string, ArrayBufferView>): void;
}
