// Every model of the zoo, end to end (all its layers composed), against finite differences:
// the gradient w.r.t. the embeddings x0 and w.r.t. every dense parameter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createJsBackend } from '../src/kernels/js.js';
import { MODELS, buildModel } from '../src/models/registry.js';
import { gradCheck } from '../src/nn/gradcheck.js';
import type { Layer, Param } from '../src/nn/layer.js';
import type { CtrModel } from '../src/models/model.js';

/** View a model as a Layer x0 → logit (first-order weights fixed), so gradCheck applies. */
function asLayer(model: CtrModel, F: number, d: number): Layer {
  let first = new Float32Array(0);
  return {
    inDim: F * d,
    outDim: 1,
    forward(x, batch, training) {
      if (first.length < batch * F) first = Float32Array.from({ length: batch * F }, (_, i) => 0.1 * Math.sin(i));
      return model.forward({ x0: x, first: first.subarray(0, batch * F) }, batch, training);
    },
    backward(dy, batch) {
      return model.backward(dy, batch).dx0;
    },
    params(): Param[] {
      return model.params();
    },
  };
}

for (const name of Object.keys(MODELS)) {
  test(`model ${name}: gradients match finite differences`, () => {
    const backend = createJsBackend();
    const F = 3;
    const d = 4;
    // Without BatchNorm every parameter has a non-trivial gradient; with it, the bias of the Linear
    // before each BatchNorm has an exactly-zero gradient, so there only the input gradient is checked.
    for (const batchNorm of [false, true]) {
      const model = buildModel(name, { backend, numFields: F, dim: d, mlp: [6, 5], crossLayers: 2, batchNorm, dropout: 0, seed: 5 });
      const r = gradCheck(asLayer(model, F, d), { batch: 5, eps: batchNorm ? 1e-3 : 3e-4, input: model.usesEmbedding, params: !batchNorm });
      if (!model.usesEmbedding && batchNorm) continue;
      assert.ok(r.checked > 0, 'checked something');
      assert.ok(r.maxRelErr < 2e-2, `${name} (batchNorm ${batchNorm}): max relative error ${r.maxRelErr} (worst ${JSON.stringify(r.worst)})`);
    }
  });
}

test('models have distinct, stable parameter names', () => {
  const backend = createJsBackend();
  for (const name of Object.keys(MODELS)) {
    const m = buildModel(name, { backend, numFields: 3, dim: 4, mlp: [6, 5], crossLayers: 2, batchNorm: true, dropout: 0, seed: 3 });
    const names = m.params().map((p) => p.name);
    assert.equal(new Set(names).size, names.length, `${name}: duplicate names ${names}`);
  }
});

test('unknown model name is a clear error', () => {
  assert.throws(() => buildModel('nope', { backend: createJsBackend(), numFields: 2, dim: 2, mlp: [], crossLayers: 1, batchNorm: false, dropout: 0, seed: 1 }), /unknown model "nope"/);
});
