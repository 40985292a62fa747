// A tiny ONNX graph builder over onnx-proto's generated classes: it names nodes and initializers
// uniquely, turns typed arrays into raw-data initializers, and encodes the finished ModelProto.
// Standard domain (ai.onnx) only; every node has one output unless asked for more.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET = 18;
/** IR version 8 goes with opset 18 (ONNX 1.13). */
export const IR_VERSION = 8;

export type ElemType = 'float' | 'float16' | 'uint8' | 'int64';

const ELEM: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  uint8: onnx.TensorProto.DataType.UINT8,
  int64: onnx.TensorProto.DataType.INT64,
};

export const elemType = (t: ElemType): number => ELEM[t];

/** An attribute value: a number is an INT when integral unless given as { f }, a string a STRING. */
export type AttrValue = number | { f: number } | string | number[];

/** A graph input or output: dims are numbers or symbolic names ('batch'). */
export interface TensorSpec {
  name: string;
  type: ElemType;
  dims: (number | string)[];
}

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly inits: Onnx.ITensorProto[] = [];
  private readonly names = new Set<string>();
  /** Constants already made, by value, so a scalar used twice is one initializer. */
  private readonly constCache = new Map<string, string>();

  /** A fresh name from a base ('head.0.weight' → 'head.0.weight', then 'head.0.weight_1', …). */
  name(base: string): string {
    let n = base;
    for (let k = 1; this.names.has(n); k++) n = `${base}_${k}`;
    this.names.add(n);
    return n;
  }

  /** Reserve a name used verbatim (graph inputs). */
  reserve(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx graph: name '${name}' is taken`);
    this.names.add(name);
    return name;
  }

  /** An initializer holding `data` (little-endian raw bytes) with the given shape. */
  init(base: string, type: ElemType, dims: number[], data: ArrayBufferView): string {
    const count = dims.reduce((a, b) => a * b, 1);
    const size = type === 'float' ? 4 : type === 'float16' ? 2 : type === 'int64' ? 8 : 1;
    if (data.byteLength !== count * size) throw new Error(`onnx graph: initializer '${base}' has ${data.byteLength} bytes, shape [${dims}] of ${type} needs ${count * size}`);
    const name = this.name(base);
    this.inits.push(onnx.TensorProto.create({ name, dataType: ELEM[type], dims, rawData: bytesOf(data) }));
    return name;
  }

  /** A float constant (fp32) of the given shape (default: a vector, or a scalar for one value). */
  floats(base: string, values: ArrayLike<number>, dims?: number[]): string {
    return this.cached(`f:${dims}`, values, () => this.init(base, 'float', dims ?? [values.length], Float32Array.from(values)));
  }

  /** An int64 constant (shapes, axes, indices). */
  ints(base: string, values: ArrayLike<number>, dims?: number[]): string {
    return this.cached(`i:${dims}`, values, () => this.init(base, 'int64', dims ?? [values.length], BigInt64Array.from(Array.from(values), (v) => BigInt(v))));
  }

  /** A uint8 constant (shift amounts, masks). */
  bytes(base: string, values: ArrayLike<number>, dims?: number[]): string {
    return this.cached(`u:${dims}`, values, () => this.init(base, 'uint8', dims ?? [values.length], Uint8Array.from(values)));
  }

  /** A scalar float (shape []). */
  scalar(base: string, value: number): string {
    return this.floats(base, [value], []);
  }

  private cached(kind: string, values: ArrayLike<number>, make: () => string): string {
    // Small constants only: big ones (weights) are never shared.
    if (values.length > 64) return make();
    const key = `${kind}:${Array.from(values).join(',')}`;
    let n = this.constCache.get(key);
    if (!n) {
      n = make();
      this.constCache.set(key, n);
    }
    return n;
  }

  /** Append a node; returns its output names (one unless `outputs` > 1). */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base: string = opType, outputs = 1): string[] {
    const outs = Array.from({ length: outputs }, (_, k) => this.name(outputs === 1 ? base : `${base}.${k}`));
    this.nodes.push(
      onnx.NodeProto.create({
        opType,
        name: this.name(`${base}/${opType}`),
        input: inputs,
        output: outs,
        attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
      }),
    );
    return outs;
  }

  /** A one-output node: its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, base: string = opType): string {
    return this.node(opType, inputs, attrs, base)[0];
  }

  /** The encoded ModelProto. */
  encode(graphName: string, inputs: TensorSpec[], outputs: TensorSpec[], meta: Record<string, string> = {}): Uint8Array {
    const graph = onnx.GraphProto.create({
      name: graphName,
      node: this.nodes,
      initializer: this.inits,
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
    });
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET })],
      producerName: 'alpt',
      graph,
      metadataProps: Object.entries(meta).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value })),
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, v: AttrValue): Onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(v) });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: T.INTS, ints: v });
  if (typeof v === 'object') return onnx.AttributeProto.create({ name, type: T.FLOAT, f: v.f });
  if (!Number.isInteger(v)) throw new Error(`onnx graph: attribute '${name}' = ${v}: write a float attribute as { f }`);
  return onnx.AttributeProto.create({ name, type: T.INT, i: v });
}

function valueInfo(t: TensorSpec): Onnx.IValueInfoProto {
  return onnx.ValueInfoProto.create({
    name: t.name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: ELEM[t.type],
        shape: onnx.TensorShapeProto.create({
          dim: t.dims.map((d) => onnx.TensorShapeProto.Dimension.create(typeof d === 'number' ? { dimValue: d } : { dimParam: d })),
        }),
      }),
    }),
  });
}
