// Kernel worker: instantiates the kernel module over the shared memory, then sleeps on the control
// block and computes its share of every job the main thread posts (src/kernels/pool.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { DONE, errSlot, GEN, QUIT, runShare, type KernelExports } from './shared.js';

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctl: SharedArrayBuffer;
  params: SharedArrayBuffer;
  index: number;
  threads: number;
  /** Set when the creator posts jobs without waiting for 'ready': the generation before any job. */
  gen0?: number;
}

const init = workerData as Init;
const ex = new WebAssembly.Instance(init.module, { env: { memory: init.memory } }).exports as unknown as KernelExports;
const ctl = new Int32Array(init.ctl);
const params = new Float64Array(init.params);
const t = init.index;
const argBuf: number[] = [];
// Spin briefly before sleeping: back-to-back GEMMs (layer after layer) then skip the futex wake-up.
const SPIN = 20000;

// Read the generation before announcing readiness: a job posted right after 'ready' must count as new.
let seen = init.gen0 ?? Atomics.load(ctl, GEN);
parentPort!.postMessage('ready');
for (;;) {
  let gen = Atomics.load(ctl, GEN);
  for (let s = 0; gen === seen && s < SPIN; s++) gen = Atomics.load(ctl, GEN);
  if (gen === seen) {
    Atomics.wait(ctl, GEN, seen);
    continue;
  }
  seen = gen;
  if (Atomics.load(ctl, QUIT)) break;
  try {
    runShare(ex, params, t, argBuf);
  } catch {
    Atomics.store(ctl, errSlot(init.threads, t), 1);
  }
  Atomics.store(ctl, DONE + t, gen);
  Atomics.notify(ctl, DONE + t);
}
