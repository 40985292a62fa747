// Plain safetensors for people who load the weights into their own code (PyTorch, NumPy): the
// tensors as trained (packed codes + steps, dense weights, BatchNorm statistics) and a JSON file
// beside them that says what each tensor is and how to de-quantize the table.
import { writeSafetensors, type TensorIn } from '../util/safetensors.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { ModelFile } from '../artifact/model-file.js';

export function exportSafetensors(file: ModelFile, out: string): { description: string; bytes: number } {
  const { meta, arrays } = file;
  const t = meta.table;
  const tensors: Record<string, TensorIn> = {};
  let bytes = 0;
  for (const [name, a] of Object.entries(arrays)) {
    if (name.startsWith('vocab.')) continue; // raw-value lookup is alpt's business; ids are what a tensor user needs
    let tin: TensorIn = { data: a };
    if (name === 'table.main.codes') tin = { data: a, shape: [t.rows, t.rowBytes] };
    else if (name === 'table.main.steps') tin = { data: a, dtype: t.stepDtype === 'f16' ? 'F16' : 'F32', shape: [t.rows] };
    else if (name === 'table.main.weights') tin = { data: a, shape: [t.rows, t.dim] };
    tensors[name] = tin;
    bytes += a.byteLength;
  }
  writeSafetensors(out, tensors, { format: 'alpt-export' });
  const description = out.replace(/\.safetensors$/, '') + '.json';
  const doc = {
    model: meta.config.model,
    config: meta.config,
    table: {
      ...t,
      layout: t.bits === 32
        ? 'table.main.weights [rows, dim] float32'
        : `table.main.codes [rows, rowBytes] uint8: code i of a row is bits [i*bits, (i+1)*bits) of the row's little-endian bit stream ` +
          `(bit k in byte k>>3 at position k&7), stored as q + 2^(bits-1); value = steps[row] * q`,
    },
    ids: meta.vocab.hash
      ? `row id = fields[j].offset + hash(seed, j, key) mod fields[j].size (hashed ids, HASH_VERSION ${meta.vocab.hash.version}, seed ${meta.vocab.hash.seed}: see alpt's src/data/hash-rows.ts); no out-of-vocabulary id`
      : 'row id = fields[j].offset + the value\'s local id; the last id of each field is its out-of-vocabulary id',
    hash: meta.vocab.hash ?? null,
    fields: meta.vocab.fieldNames.map((name, j) => ({ name, size: meta.vocab.fieldSizes[j], offset: meta.vocab.fieldOffsets[j] })),
    first_order: meta.firstOrder ? 'table.first.weights [rows] float32, summed per example plus param.first.bias' : null,
    dense: 'param.*: Linear weights are [out, in] row-major; buffer.*: BatchNorm running mean and variance',
    tensors: Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k, { dtype: v.dtype ?? null, shape: v.shape ?? [v.data.byteLength / (v.data as Float32Array).BYTES_PER_ELEMENT] }])),
    summary: meta.summary,
  };
  writeFileAtomic(description, [JSON.stringify(doc, null, 2) + '\n']);
  return { description, bytes };
}
