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

test('setParamGrads(false) gives the same input gradient and skips the weight-gradient GEMMs', () => {
  const backend = createJsBackend();
  for (const name of ['dcn', 'dcn-v2', 'deepfm', 'ipnn']) {
    const model = buildModel(name, { backend, numFields: 3, dim: 4, mlp: [6, 5], crossLayers: 2, batchNorm: true, dropout: 0, seed: 5 });
    const B = 4;
    const x0 = Float32Array.from({ length: B * 12 }, (_, i) => Math.sin(i));
    const first = new Float32Array(B * 3);
    const dl = Float32Array.from({ length: B }, (_, i) => 0.1 * (i + 1));
    model.forward({ x0, first }, B, true);
    const dxFull = model.backward(dl, B).dx0.slice();
    const grads = model.params().map((p) => p.grad.slice());
    for (const p of model.params()) p.grad.fill(7);
    model.setParamGrads!(false);
    model.forward({ x0, first }, B, true);
    const dx = model.backward(dl, B).dx0;
    model.setParamGrads!(true);
    assert.deepEqual(Array.from(dx), Array.from(dxFull), `${name}: same dx0`);
    // The Linear layers' weight gradients (the GEMMs worth skipping) keep their old contents.
    const skipped = model.params().filter((p, i) => p.value.length > 12 && p.grad.every((g) => g === 7) && grads[i].some((g) => g !== 7));
    assert.ok(skipped.length >= 2, `${name}: dense weight gradients skipped (${skipped.map((p) => p.name)})`);
  }
});
