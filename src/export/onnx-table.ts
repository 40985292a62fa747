// The embedding lookup in ONNX with the table kept packed: the codes stay a uint8 initializer
// [rows × rowBytes] and the steps one value per row, and the graph unpacks only the gathered rows.
//
// Code i of a b-bit row occupies bits [i·b, i·b+b) of the row's little-endian bit stream
// (quant/pack.ts): it starts in byte lo_i = ⌊i·b/8⌋ at shift s_i = i·b mod 8 and, when
// s_i + b > 8 (b = 3, 5, 6, 7), continues in byte lo_i+1. Per gathered row:
//   u_i = ((byte[lo_i] >> s_i) | (byte[lo_i+1] << (8 − s_i))) & (2^b − 1)      (uint8 arithmetic)
//   x_i = Δ · (float(u_i) − 2^(b−1))
// with the byte picks done by Gather on the last axis and the shifts broadcast per code. The value
// is the one alpt's dequantizeRow computes (one fp32 product of exact operands), bit for bit.
// Codes that do not straddle take their "high" byte shifted left by b, which the mask clears, so
// every shift stays below 8 (onnxruntime's BitShift CPU kernel covers uint8, uint32, uint64).
import type { TableLayout } from '../artifact/model-file.js';
import type { GraphBuilder } from './onnx-graph.js';

export interface TableArrays {
  codes?: Uint8Array;
  /** Float32Array, or Uint16Array holding f16 bit patterns. */
  steps?: Float32Array | Uint16Array;
  weights?: Float32Array;
}

/** Per-code byte picks and shifts of a b-bit row (exported for tests). */
export function codeLayout(dim: number, bits: number, rowBytes: number): { lo: number[]; hi: number[]; shiftLo: number[]; shiftHi: number[]; straddles: boolean } {
  const lo: number[] = [];
  const hi: number[] = [];
  const shiftLo: number[] = [];
  const shiftHi: number[] = [];
  let straddles = false;
  for (let i = 0; i < dim; i++) {
    const k = i * bits;
    const s = k & 7;
    const over = s + bits > 8;
    straddles ||= over;
    lo.push(k >>> 3);
    hi.push(over ? (k >>> 3) + 1 : Math.min((k >>> 3) + 1, rowBytes - 1));
    shiftLo.push(s);
    shiftHi.push(over ? 8 - s : bits);
  }
  return { lo, hi, shiftLo, shiftHi, straddles };
}

/**
 * The field embeddings x0 [batch × F·dim] (float) of `ids` [batch × F] (int64) from a table.
 * `name` prefixes the initializers ('table.main').
 */
export function lowerTable(g: GraphBuilder, layout: TableLayout, t: TableArrays, ids: string, numFields: number, name = 'table.main'): string {
  const { rows, dim, bits, rowBytes: rb } = layout;
  const flat = g.ints('shape.x0', [0, numFields * dim]);
  if (bits === 32) {
    if (!t.weights) throw new Error(`${name}: fp32 table without weights`);
    const w = g.init(`${name}.weights`, 'float', [rows, dim], t.weights);
    return g.op('Reshape', [g.op('Gather', [w, ids], { axis: 0 }, `${name}.rows`), flat], {}, 'x0');
  }
  if (!t.codes || !t.steps) throw new Error(`${name}: ${bits}-bit table without codes or steps`);
  const codes = g.init(`${name}.codes`, 'uint8', [rows, rb], t.codes);
  const f16 = layout.stepDtype === 'f16' || t.steps instanceof Uint16Array;
  const steps = g.init(`${name}.steps`, f16 ? 'float16' : 'float', [rows], t.steps);
  // Δ per looked-up row, [B × F × 1]
  let step = g.op('Gather', [steps, ids], { axis: 0 }, `${name}.step`);
  if (f16) step = g.op('Cast', [step], { to: 1 /* FLOAT */ }, `${name}.step.f32`);
  step = g.op('Unsqueeze', [step, g.ints('axis.2', [2])], {}, `${name}.step.col`);
  // packed rows [B × F × rowBytes] → unsigned codes u [B × F × dim] (uint8)
  const packed = g.op('Gather', [codes, ids], { axis: 0 }, `${name}.packed`);
  let u: string;
  if (bits === 8) u = packed;
  else {
    const L = codeLayout(dim, bits, rb);
    const loBytes = g.op('Gather', [packed, g.ints(`${name}.lo`, L.lo)], { axis: 2 }, `${name}.lo.bytes`);
    u = g.op('BitShift', [loBytes, g.bytes(`${name}.shift.lo`, L.shiftLo)], { direction: 'RIGHT' }, `${name}.lo.shifted`);
    if (L.straddles) {
      const hiBytes = g.op('Gather', [packed, g.ints(`${name}.hi`, L.hi)], { axis: 2 }, `${name}.hi.bytes`);
      const hiPart = g.op('BitShift', [hiBytes, g.bytes(`${name}.shift.hi`, L.shiftHi)], { direction: 'LEFT' }, `${name}.hi.shifted`);
      u = g.op('BitwiseOr', [u, hiPart], {}, `${name}.joined`);
    }
    // The top code of a byte needs no mask, but one broadcast And is cheaper than splitting.
    u = g.op('BitwiseAnd', [u, g.bytes(`mask.${bits}`, [(1 << bits) - 1], [])], {}, `${name}.u`);
  }
  const q = g.op('Sub', [g.op('Cast', [u], { to: 1 }, `${name}.u.f32`), g.scalar(`offset.${bits}`, 1 << (bits - 1))], {}, `${name}.q`);
  const x = g.op('Mul', [q, step], {}, `${name}.values`);
  return g.op('Reshape', [x, flat], {}, 'x0');
}

/** The first-order term Σ_f w[id_f] [batch × 1] from a one-weight-per-row fp32 table. */
export function lowerFirstOrder(g: GraphBuilder, weights: Float32Array, ids: string, name = 'table.first'): string {
  const w = g.init(`${name}.weights`, 'float', [weights.length], weights);
  const per = g.op('Gather', [w, ids], { axis: 0 }, `${name}.values`);
  return g.op('ReduceSum', [per, g.ints('axis.1', [1])], { keepdims: 1 }, `${name}.sum`);
}
