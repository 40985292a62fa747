// exportOnnx: a model file → a standard ONNX model (ai.onnx, opset 18) that scores the same ids.
//   input  ids          int64 [batch × fields]  global ids, as LoadedModel.predictIds takes them
//   output probability  float [batch]           sigmoid of the logit
//   output logit        float [batch]
// The model is rebuilt from its config (the same zoo code that trained it), its dense weights and
// BatchNorm statistics restored by name, and each term lowered layer by layer (onnx-layers.ts).
// The embedding table stays packed: codes and steps are initializers, unpacked in the graph for
// the gathered rows only (onnx-table.ts), so a 4-bit table costs its codes + steps, not rows·dim·4.
import type { ModelFile } from '../artifact/model-file.js';
import { createJsBackend } from '../kernels/js.js';
import { buildModelFor } from '../models/registry.js';
import { TermModel } from '../models/term-model.js';
import { restoreDense } from '../train/snapshot.js';
import { GraphBuilder } from './onnx-graph.js';
import { lowerLayer } from './onnx-layers.js';
import { lowerFirstOrder, lowerTable } from './onnx-table.js';

export interface OnnxExportOptions {
  /** Also output the logit (default true). */
  logit?: boolean;
  /** Graph name (default 'alpt-<model>'). */
  name?: string;
}

export function exportOnnx(file: ModelFile, opts: OnnxExportOptions = {}): Uint8Array {
  const { meta, arrays } = file;
  const cfg = meta.config;
  const F = meta.vocab.fieldSizes.length;
  const backend = createJsBackend();
  try {
    const model = buildModelFor(cfg, F, backend);
    if (!(model instanceof TermModel)) throw new Error(`onnx export: model '${cfg.model}' is not a sum of terms`);
    restoreDense(model, arrays, 'onnx export');

    const g = new GraphBuilder();
    const ids = g.reserve('ids');
    const parts: string[] = [];
    if (model.usesFirstOrder) {
      const w = arrays['table.first.weights'] as Float32Array | undefined;
      if (!w) throw new Error(`onnx export: model '${cfg.model}' has a first-order term but the file has no table.first.weights`);
      const bias = model.params().find((p) => p.name === 'first.bias');
      if (!bias) throw new Error('onnx export: first-order bias missing');
      parts.push(g.op('Add', [g.floats('first.bias', bias.value, [1]), lowerFirstOrder(g, w, ids)], {}, 'first'));
    }
    if (model.terms.length > 0) {
      const x0 = lowerTable(g, meta.table, {
        codes: arrays['table.main.codes'] as Uint8Array | undefined,
        steps: arrays['table.main.steps'] as Float32Array | Uint16Array | undefined,
        weights: arrays['table.main.weights'] as Float32Array | undefined,
      }, ids, F);
      for (const t of model.terms) parts.push(lowerLayer(g, t.layer, x0, t.name));
    }
    if (parts.length === 0) throw new Error(`onnx export: model '${cfg.model}' has no terms`);
    // Terms in alpt's order: first-order sum, then each term added in turn. [B × 1] → [B].
    let z = parts[0];
    for (let k = 1; k < parts.length; k++) z = g.op('Add', [z, parts[k]], {}, `sum.${k}`);
    const logit = g.op('Squeeze', [z, g.ints('axis.1', [1])], {}, 'logit');
    const prob = g.op('Sigmoid', [logit], {}, 'probability');
    const outputs = [{ name: prob, type: 'float' as const, dims: ['batch'] }];
    if (opts.logit !== false) outputs.push({ name: logit, type: 'float', dims: ['batch'] });
    return g.encode(opts.name ?? `alpt-${cfg.model}`, [{ name: ids, type: 'int64', dims: ['batch', F] }], outputs, {
      'alpt.model': cfg.model,
      'alpt.embedding': cfg.embedding,
      'alpt.bits': String(meta.table.bits),
      'alpt.dim': String(meta.table.dim),
      'alpt.fields': JSON.stringify(meta.vocab.fieldNames ?? []),
      'alpt.field_offsets': JSON.stringify(meta.vocab.fieldOffsets),
      // Hashed ids: the caller computes ids with this spec (src/data/hash-rows.ts), as alpt predict does.
      ...(meta.vocab.hash ? { 'alpt.hash': JSON.stringify(meta.vocab.hash) } : {}),
    });
  } finally {
    backend.dispose();
  }
}
