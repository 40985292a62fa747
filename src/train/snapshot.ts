// Everything that defines a trained model's weights, as named typed arrays: tables, dense
// parameters and buffers. Used for best-epoch restore (in memory) and for checkpoint files.

import type { CtrModel } from '../models/model.js';
import type { StepTables } from './step.js';

export function collectWeights(model: CtrModel, tables: StepTables): Record<string, ArrayBufferView> {
  const out: Record<string, ArrayBufferView> = {};
  for (const [k, v] of Object.entries(tables.main.state())) out[`table.main.${k}`] = v;
  if (tables.first) for (const [k, v] of Object.entries(tables.first.state())) out[`table.first.${k}`] = v;
  for (const p of model.params()) out[`param.${p.name}`] = p.value;
  for (const [k, v] of Object.entries(model.buffers())) out[`buffer.${k}`] = v;
  return out;
}

export function copyArrays(a: Record<string, ArrayBufferView>): Record<string, ArrayBufferView> {
  const out: Record<string, ArrayBufferView> = {};
  for (const [k, v] of Object.entries(a)) out[k] = (v as Float32Array).slice();
  return out;
}

/** Write saved arrays back into the live model and tables; every expected name must be present. */
export function restoreWeights(model: CtrModel, tables: StepTables, saved: Record<string, ArrayBufferView>, source = 'snapshot'): void {
  const tableState = (prefix: string) => {
    const s: Record<string, ArrayBufferView> = {};
    for (const [k, v] of Object.entries(saved)) if (k.startsWith(prefix)) s[k.slice(prefix.length)] = v;
    return s;
  };
  tables.main.load(tableState('table.main.'));
  if (tables.first) tables.first.load(tableState('table.first.'));
  restoreDense(model, saved, source);
}

/** Write saved dense parameters and buffers (param.*, buffer.*) into the live model. */
export function restoreDense(model: CtrModel, saved: Record<string, ArrayBufferView>, source = 'snapshot'): void {
  const take = (name: string): ArrayBufferView => {
    const v = saved[name];
    if (!v) throw new Error(`${source}: missing array "${name}"`);
    return v;
  };
  for (const p of model.params()) copyInto(p.value, take(`param.${p.name}`), `param.${p.name}`, source);
  for (const [k, v] of Object.entries(model.buffers())) copyInto(v, take(`buffer.${k}`), `buffer.${k}`, source);
}

function copyInto(dst: Float32Array, src: ArrayBufferView, name: string, source: string): void {
  const s = src as Float32Array;
  if (!(s instanceof Float32Array) || s.length !== dst.length) {
    throw new Error(`${source}: array "${name}" has ${(s as Float32Array).length} values, expected ${dst.length}`);
  }
  dst.set(s);
}
