// Vocabulary from train counts, as torch_ref.encode: per field, values with count >= minCount get
// ids in sorted order (byte order of UTF-8 = Python's code-point order); the field's last id is OOV.
import type { Vocab, VocabKeys } from './types.js';
import type { KeyTable } from './keytable.js';

export interface BuiltVocab {
  vocab: Vocab;
  /** Per field: table entry → global id (rare values → the field's OOV id). */
  remaps: Int32Array[];
  keys: VocabKeys;
}

/** `entries`: the train rows' table entries, row-major (see Counted). */
export function buildVocab(fieldNames: string[], tables: KeyTable[], entries: Int32Array, minCount: number): BuiltVocab {
  const counts = minCount > 1 ? countEntries(tables, entries) : null;
  const fieldSizes: number[] = [];
  const fieldOffsets: number[] = [];
  const remaps: Int32Array[] = [];
  let offset = 0;
  const keptPerField: number[][] = [];
  tables.forEach((t, j) => {
    const kept: number[] = [];
    for (let id = 0; id < t.size; id++) if (!counts || counts[j][id] >= minCount) kept.push(id);
    kept.sort((a, b) => t.compare(a, b));
    keptPerField.push(kept);
    const remap = new Int32Array(t.size).fill(offset + kept.length);
    kept.forEach((id, rank) => (remap[id] = offset + rank));
    fieldOffsets.push(offset);
    fieldSizes.push(kept.length + 1);
    remaps.push(remap);
    offset += kept.length + 1;
  });
  return { vocab: { fieldNames: fieldNames.slice(), fieldSizes, fieldOffsets, totalRows: offset }, remaps, keys: keysOf(tables, keptPerField) };
}

/** The kept keys of every field in id order, back to back (see VocabKeys). */
function keysOf(tables: KeyTable[], kept: number[][]): VocabKeys {
  let total = 0;
  let count = 0;
  kept.forEach((ids, j) => {
    for (const id of ids) total += tables[j].keyBytes(id).length;
    count += ids.length;
  });
  const bytes = new Uint8Array(total);
  const ends = new Uint32Array(count);
  let at = 0;
  let i = 0;
  kept.forEach((ids, j) => {
    for (const id of ids) {
      const k = tables[j].keyBytes(id);
      bytes.set(k, at);
      at += k.length;
      ends[i++] = at;
    }
  });
  return { bytes, ends };
}

/** Occurrences of each table entry in train. */
function countEntries(tables: KeyTable[], entries: Int32Array): Int32Array[] {
  const F = tables.length;
  const counts = tables.map((t) => new Int32Array(t.size));
  for (let j = 0; j < F; j++) {
    const c = counts[j];
    for (let i = j; i < entries.length; i += F) c[entries[i]]++;
  }
  return counts;
}
