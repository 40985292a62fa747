// A table row as bytes: every per-row slice of a table's state arrays (codes, step size Δ, the
// sparse optimizer's moments, the step optimizer's moments, fp32 weights…), concatenated in a
// fixed order, for one or more tables (main + first-order) under one key.
//
// Which arrays are per row is found by comparing two tables of different row counts: an array
// whose byte length is rows·s in both is per row (row r at bytes [r·s, (r+1)·s)); the others are
// per table (e.g. Δ0, LSQ's shared step) and travel with the dense parameters instead.

import type { EmbeddingTable } from '../embedding/table.js';

export interface RowField {
  table: number;
  name: string;
  bytes: number;
}

export interface RowLayout {
  fields: RowField[];
  rowBytes: number;
  /** Per-table arrays (not per row) by table index; name → byte length. */
  globals: { table: number; name: string; bytes: number }[];
}

const u8 = (v: ArrayBufferView) => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);

/** Layout from the same tables built with two different row counts (ra ≠ rb). */
export function rowLayout(a: EmbeddingTable[], b: EmbeddingTable[]): RowLayout {
  const fields: RowField[] = [];
  const globals: RowLayout['globals'] = [];
  for (let t = 0; t < a.length; t++) {
    const sa = a[t].state(), sb = b[t].state();
    const ra = a[t].rows, rb = b[t].rows;
    for (const name of Object.keys(sa).sort()) {
      const la = sa[name].byteLength, lb = sb[name]?.byteLength;
      if (lb === undefined) throw new Error(`table state "${name}" differs between instances`);
      const s = la / ra;
      if (Number.isInteger(s) && s > 0 && lb === s * rb) fields.push({ table: t, name, bytes: s });
      else if (la === lb) globals.push({ table: t, name, bytes: la });
      else throw new Error(`table state "${name}": ${la} bytes for ${ra} rows, ${lb} for ${rb}: neither per row nor per table`);
    }
  }
  return { fields, rowBytes: fields.reduce((s, f) => s + f.bytes, 0), globals };
}

/** Byte views of the tables' state arrays in layout order (re-take after any reallocation). */
export function fieldViews(layout: RowLayout, tables: EmbeddingTable[]): Uint8Array[] {
  const states = tables.map((t) => t.state());
  return layout.fields.map((f) => {
    const v = states[f.table][f.name];
    if (!v) throw new Error(`table ${f.table} has no state array "${f.name}"`);
    return u8(v);
  });
}

/** Row `slot` of the tables → a new Buffer of rowBytes. */
export function packRow(layout: RowLayout, views: Uint8Array[], slot: number): Buffer {
  const out = Buffer.allocUnsafe(layout.rowBytes);
  let o = 0;
  for (let k = 0; k < views.length; k++) {
    const s = layout.fields[k].bytes;
    out.set(views[k].subarray(slot * s, slot * s + s), o);
    o += s;
  }
  return out;
}

/** Bytes of one row → row `slot` of the tables. */
export function unpackRow(layout: RowLayout, views: Uint8Array[], slot: number, value: Uint8Array): void {
  if (value.byteLength !== layout.rowBytes) {
    throw new Error(`stored row has ${value.byteLength} bytes, this run's layout ${layout.rowBytes}: another configuration wrote the store`);
  }
  let o = 0;
  for (let k = 0; k < views.length; k++) {
    const s = layout.fields[k].bytes;
    views[k].set(value.subarray(o, o + s), slot * s);
    o += s;
  }
}

/** Float32 per-table arrays (the mutable ones, e.g. LSQ's shared step); Δ0 (float64) is fixed. */
export function globalFloatArrays(layout: RowLayout, tables: EmbeddingTable[]): Float32Array[] {
  const out: Float32Array[] = [];
  for (const g of layout.globals) {
    const v = tables[g.table].state()[g.name];
    if (v instanceof Float32Array) out.push(v);
  }
  return out;
}
