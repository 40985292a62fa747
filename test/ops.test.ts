// Element-wise kernels: the wasm ops (assembly/elementwise.ts) against the TypeScript ones
// (src/kernels/ops-js.ts) on odd sizes, arrays inside and outside the wasm memory, and the layers'
// gradient checks on the wasm backend.

import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import type { Backend, ElementwiseOps } from '../src/kernels/backend.js';
import { createBackend } from '../src/kernels/index.js';
import { jsOps } from '../src/kernels/ops-js.js';
import { BatchNorm1d } from '../src/nn/batchnorm.js';
import { CrossNetwork } from '../src/nn/cross.js';
import { CrossNetworkV2 } from '../src/nn/cross-v2.js';
import { gradCheck } from '../src/nn/gradcheck.js';
import { Linear } from '../src/nn/linear.js';
import { buildMlp } from '../src/nn/mlp.js';
import { Adam } from '../src/nn/optim.js';
import { ReLU } from '../src/nn/relu.js';
import { Sequential } from '../src/nn/sequential.js';
import { CounterRng } from '../src/util/rng.js';

const SHAPES: [number, number][] = [
  [1, 1], [5, 1], [1, 3], [5, 3], [7, 17], [4096, 3], [5, 1024], [64, 1024], [33, 624], [300, 203], [2000, 37],
];

let rngSeq = 1;
function randn(n: number, scale = 1, offset = 0): Float32Array {
  const rng = new CounterRng(rngSeq++, 0, 0);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.normal();
  return a;
}

/** A copy of src in memory from `be.alloc` (inside the wasm memory for the wasm backend). */
function inside(be: Backend, src: Float32Array): Float32Array {
  const a = be.alloc(src.length);
  a.set(src);
  return a;
}

function close(name: string, got: Float32Array, want: Float32Array, tol: number): void {
  assert.equal(got.length, want.length, `${name}: length`);
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    const ok = Math.abs(g - w) <= tol * Math.max(1, Math.abs(w)) || (Number.isNaN(g) && Number.isNaN(w));
    if (!ok) assert.fail(`${name}[${i}]: ${g} vs ${w}`);
  }
}

let be: Backend;
let ops: ElementwiseOps;
before(async () => {
  be = await createBackend({ kind: 'wasm', threads: 1 });
  ops = be.ops!;
});
after(() => be.dispose());

// With 2 threads the larger shapes are split across the workers (rows, elements or column slices);
// results must stay identical to the TypeScript kernels, as with 1 thread.
for (const threads of [1, 2]) describe(`wasm element-wise ops match the TypeScript ones (threads=${threads})`, () => {
  let outer: Backend;
  before(async () => {
    outer = be;
    be = await createBackend({ kind: 'wasm', threads });
    ops = be.ops!;
  });
  after(() => {
    be.dispose();
    be = outer;
    ops = be.ops!;
  });

  it('the wasm backend has ops and the js backend uses the TypeScript ones', async () => {
    assert.ok(be.ops && be.ops !== jsOps);
    const js = await createBackend({ kind: 'js' });
    assert.equal(js.ops, jsOps);
  });

  for (const [rows, cols] of SHAPES) {
    const tag = `${rows}×${cols}`;
    it(`columnSums ${tag}`, () => {
      const x = randn(rows * cols, 2, 0.5);
      const out = be.alloc(cols);
      const want = new Float32Array(cols);
      ops.columnSums(inside(be, x), rows, cols, out);
      jsOps.columnSums(x, rows, cols, want);
      assert.deepEqual(out, want); // float64 sums in the same order: identical
    });

    for (const relu of [false, true]) {
      for (const training of [true, false]) {
        it(`batchNorm forward/backward ${tag} training=${training} relu=${relu}`, () => {
          const n = rows * cols;
          const x = randn(n, 3, 20); // an offset: the centred formulas must stay accurate
          const dy = randn(n);
          const gamma = randn(cols, 0.5, 1);
          const beta = randn(cols, 0.3);
          const rm0 = randn(cols, 1, 20);
          const rv0 = new Float32Array(cols).map((_, j) => 1 + (j % 5));
          const mk = (wasm: boolean): Record<string, Float32Array> => {
            const c = (a: Float32Array): Float32Array => (wasm ? inside(be, a) : a.slice());
            const z = (k: number): Float32Array => (wasm ? be.alloc(k) : new Float32Array(k));
            return {
              x: c(x), dy: c(dy), gamma: c(gamma), beta: c(beta), rm: c(rm0), rv: c(rv0), mean: z(cols), inv: z(cols),
              y: z(n), dg: z(cols), db: z(cols), dx: z(n),
            };
          };
          const run = (o: ElementwiseOps, a: Record<string, Float32Array>): void => {
            o.batchNormForward(a.x, rows, cols, a.gamma, a.beta, a.rm, a.rv, a.mean, a.inv, a.y, training, true, 0.1, 1e-5, relu);
            o.batchNormBackward(a.x, a.dy, relu ? a.y : null, rows, cols, a.gamma, a.mean, a.inv, a.dg, a.db, a.dx, training);
          };
          const w = mk(true), j = mk(false);
          run(ops, w);
          run(jsOps, j);
          for (const k of ['mean', 'inv', 'rm', 'rv', 'y', 'dg', 'db']) close(`${k}`, w[k], j[k], 1e-6);
          close('dx', w.dx, j.dx, 1e-5);
          if (relu) assert.ok(w.y.every((v) => v >= 0));
        });
      }
    }

    it(`relu forward/backward ${tag}`, () => {
      const n = rows * cols;
      const x = randn(n);
      const dy = randn(n);
      const y = be.alloc(n), dx = be.alloc(n);
      const yj = new Float32Array(n), dxj = new Float32Array(n);
      ops.relu(inside(be, x), n, y);
      ops.reluBackward(inside(be, dy), y, n, dx);
      jsOps.relu(x, n, yj);
      jsOps.reluBackward(dy, yj, n, dxj);
      assert.deepEqual(y, yj);
      assert.deepEqual(dx, dxj);
    });

    it(`cross layer forward/backward ${tag}`, () => {
      const n = rows * cols;
      const x0 = randn(n), xl = randn(n), w = randn(cols, 0.1), b = randn(cols, 0.1), g = randn(n), dx0init = randn(n);
      for (const first of [true, false]) {
        const W = {
          s: be.alloc(rows), xn: be.alloc(n), gn: be.alloc(n), dx0: inside(be, dx0init), dw: be.alloc(cols), db: be.alloc(cols),
        };
        const J = {
          s: new Float32Array(rows), xn: new Float32Array(n), gn: new Float32Array(n), dx0: dx0init.slice(),
          dw: new Float32Array(cols), db: new Float32Array(cols),
        };
        const ins = [inside(be, x0), inside(be, xl), inside(be, w), inside(be, b), inside(be, g)];
        ops.crossForward(ins[0], ins[1], ins[2], ins[3], rows, cols, W.s, W.xn);
        ops.crossBackward(ins[0], ins[1], ins[4], ins[2], W.s, rows, cols, first, W.gn, W.dx0, W.dw, W.db);
        jsOps.crossForward(x0, xl, w, b, rows, cols, J.s, J.xn);
        jsOps.crossBackward(x0, xl, g, w, J.s, rows, cols, first, J.gn, J.dx0, J.dw, J.db);
        for (const k of ['s', 'xn', 'gn', 'dx0', 'dw', 'db'] as const) close(`${k} first=${first}`, W[k], J[k], 1e-6);
        // without weight gradients (ALPT's second backward): the same gn and dx0
        const gn2 = be.alloc(n), dx02 = inside(be, dx0init);
        ops.crossBackward(ins[0], ins[1], ins[4], ins[2], W.s, rows, cols, first, gn2, dx02, null, null);
        assert.deepEqual(gn2, W.gn);
        assert.deepEqual(dx02, W.dx0);
      }
    });
  }

  for (const n of [1, 3, 17, 1024, 4099]) {
    it(`addInto, scale, adam n=${n}`, () => {
      const a = randn(n), b = randn(n);
      const wa = inside(be, a), ja = a.slice();
      ops.addInto(wa, inside(be, b), n);
      jsOps.addInto(ja, b, n);
      assert.deepEqual(wa, ja);
      ops.scale(wa, n, 0.999);
      jsOps.scale(ja, n, 0.999);
      assert.deepEqual(wa, ja);
      for (const wd of [0, 0.01]) {
        const w0 = randn(n), m0 = randn(n, 0.01), v0 = randn(n).map((x) => x * x * 1e-4);
        const W = [inside(be, w0), inside(be, m0), inside(be, v0)];
        const J = [w0.slice(), m0.slice(), v0.slice()];
        const gw = inside(be, b);
        for (let t = 1; t <= 3; t++) {
          const step = 1e-3 / (1 - 0.9 ** t), bc = Math.sqrt(1 - 0.999 ** t);
          ops.adam(W[0], gw, W[1], W[2], n, 0.9, 0.999, step, bc, 1e-8, wd);
          jsOps.adam(J[0], b, J[1], J[2], n, 0.9, 0.999, step, bc, 1e-8, wd);
        }
        for (let k = 0; k < 3; k++) assert.deepEqual(W[k], J[k]);
      }
    });
  }

  it('copyBlock: a column block between row-major arrays of different widths, both ways', () => {
    for (const [rows, cols, ld] of [[1, 1, 1], [7, 3, 10], [4096, 256, 880], [300, 624, 880], [4096, 1, 880]]) {
      const src = randn(rows * cols);
      const wide = be.alloc(rows * ld), wideJ = new Float32Array(rows * ld);
      ops.copyBlock(inside(be, src), rows, cols, cols, wide.subarray(ld - cols), ld);
      jsOps.copyBlock(src, rows, cols, cols, wideJ.subarray(ld - cols), ld);
      assert.deepEqual(wide, wideJ);
      const back = be.alloc(rows * cols);
      ops.copyBlock(wide.subarray(ld - cols), rows, cols, ld, back, cols);
      assert.deepEqual(back, src);
    }
  });

  it('arrays outside the wasm memory fall back to the TypeScript kernels', () => {
    const x = randn(5 * 3), out = new Float32Array(3), want = new Float32Array(3);
    ops.columnSums(x, 5, 3, out);
    jsOps.columnSums(x, 5, 3, want);
    assert.deepEqual(out, want);
    const mixed = be.alloc(3);
    ops.columnSums(x, 5, 3, mixed);
    assert.deepEqual(mixed, want);
  });

  it('short arrays are an error, not a stray write', () => {
    assert.throws(() => ops.columnSums(be.alloc(4), 2, 3, be.alloc(3)), RangeError);
  });
});

function expectGrad(name: string, r: { maxRelErr: number }, tol = 5e-3): void {
  assert.ok(r.maxRelErr < tol, `${name}: max rel err ${r.maxRelErr}`);
}

test('layers on the wasm backend: gradient checks', () => {
  const alloc = (n: number): Float32Array => be.alloc(n); // inputs in wasm memory: the wasm kernels run
  expectGrad('Linear/wasm', gradCheck(new Linear(be, 9, 4, { id: 3 }), { batch: 7, alloc }));
  expectGrad('BatchNorm1d/wasm', gradCheck(new BatchNorm1d(be, 6), { batch: 9, alloc }), 1e-2);
  const bnEval = new BatchNorm1d(be, 5);
  bnEval.runningMean.set([0.1, -0.2, 0.3, 0, 1]);
  bnEval.runningVar.set([1, 2, 0.5, 3, 1]);
  expectGrad('BatchNorm1d eval/wasm', gradCheck(bnEval, { batch: 6, training: false, alloc }));
  const x = randn(8 * 10);
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) < 0.05) x[i] = 0.5; // away from the kink
  expectGrad('ReLU/wasm', gradCheck(new ReLU(be, 10), { batch: 8, x, eps: 1e-3, alloc }));
  expectGrad('CrossNetwork/wasm', gradCheck(new CrossNetwork(be, 7, 3, { id: 2, initStd: 0.3 }), { batch: 5, alloc }));
  expectGrad('CrossV2/wasm', gradCheck(new CrossNetworkV2(be, 6, 2, { id: 4 }), { batch: 5, alloc }));
  const mlp = new Sequential([buildMlp(be, 8, [12, 6], { seed: 3, idBase: 10 }), new Linear(be, 6, 1, { seed: 3, id: 20 })]);
  expectGrad('MLP (fused BN+ReLU)/wasm', gradCheck(mlp, { batch: 16, eps: 1e-3, alloc }), 1e-2);
});

test('fused BN+ReLU equals BN then ReLU, forward and backward, on the wasm backend', () => {
  const batch = 13, d = 17;
  const x = inside(be, randn(batch * d, 2, 1));
  const dy = inside(be, randn(batch * d));
  const bnA = new BatchNorm1d(be, d), reluA = new ReLU(be, d);
  const bnB = new BatchNorm1d(be, d), reluB = new ReLU(be, d);
  bnB.fuseReLU(reluB);
  for (const training of [true, false]) {
    const yA = reluA.forward(bnA.forward(x, batch, training), batch, training);
    const yB = reluB.forward(bnB.forward(x, batch, training), batch, training);
    close('y', yB, yA, 0);
    const dxA = bnA.backward(reluA.backward(dy, batch), batch);
    const dxB = bnB.backward(reluB.backward(dy, batch), batch);
    close('dx', dxB, dxA, 0);
    close('dgamma', bnB.gamma.grad, bnA.gamma.grad, 0);
    close('dbeta', bnB.beta.grad, bnA.beta.grad, 0);
  }
});

test('Adam with a backend: moments in its memory, same result as without', () => {
  const n = 37;
  const w0 = randn(n), g = randn(n);
  const pa = { name: 'w', value: inside(be, w0), grad: inside(be, g), decay: true };
  const pb = { name: 'w', value: w0.slice(), grad: g.slice(), decay: true };
  for (const decoupled of [false, true]) {
    const oa = new Adam([pa], { lr: 0.01, weightDecay: 0.1, decoupled, backend: be });
    const ob = new Adam([pb], { lr: 0.01, weightDecay: 0.1, decoupled });
    for (let t = 0; t < 3; t++) {
      oa.step();
      ob.step();
    }
    assert.deepEqual(pa.value, pb.value);
    assert.deepEqual(oa.state(), ob.state());
  }
});
