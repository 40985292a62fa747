// Vocabulary from train counts, as torch_ref.encode: per field, values with count >= minCount get
// ids in sorted order (byte order of UTF-8 = Python's code-point order); the field's last id is OOV.
import type { Vocab } from './types.js';
import type { KeyTable } from './keytable.js';

export interface BuiltVocab {
  vocab: Vocab;
  /** Per field: table entry → global id (rare values → the field's OOV id). */
  remaps: Int32Array[];
}

export function buildVocab(fieldNames: string[], tables: KeyTable[], minCount: number): BuiltVocab {
  const fieldSizes: number[] = [];
  const fieldOffsets: number[] = [];
  const remaps: Int32Array[] = [];
  let offset = 0;
  tables.forEach((t) => {
    const kept: number[] = [];
    for (let id = 0; id < t.size; id++) if (t.count(id) >= minCount) kept.push(id);
    kept.sort((a, b) => t.compare(a, b));
    const remap = new Int32Array(t.size).fill(offset + kept.length);
    kept.forEach((id, rank) => (remap[id] = offset + rank));
    fieldOffsets.push(offset);
    fieldSizes.push(kept.length + 1);
    remaps.push(remap);
    offset += kept.length + 1;
  });
  return { vocab: { fieldNames: fieldNames.slice(), fieldSizes, fieldOffsets, totalRows: offset }, remaps };
}
