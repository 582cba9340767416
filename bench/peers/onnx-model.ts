/**
 * A minimal ONNX ModelProto encoder (protobuf wire format, written by hand: no protobuf dependency), enough to build
 * the small single-purpose graphs the benchmarks run in onnxruntime-node: nodes with int/float/ints attributes,
 * raw-data initializers, and typed inputs/outputs with fixed or symbolic dims.
 *
 * Field numbers follow onnx/onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 */

/** TensorProto.DataType codes of the element types the benchmarks use. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type OnnxType = (typeof OnnxType)[keyof typeof OnnxType];

/** An attribute value: a number is INT when `Number.isInteger` and not forced, see {@link floatAttr}. */
export type AttrValue = number | number[] | string | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  /** Empty for the default ONNX domain. */
  domain?: string;
}

export interface OnnxInitializer {
  name: string;
  type: OnnxType;
  dims: number[];
  /** Little-endian raw element bytes (a TypedArray of the matching type). */
  data: ArrayBufferView;
}

export interface OnnxValue {
  name: string;
  type: OnnxType;
  /** A number is a fixed dim, a string a symbolic one (e.g. "M"). */
  dims: (number | string)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers?: OnnxInitializer[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** Default opset of the ai.onnx domain (default 17). */
  opset?: number;
}

/** Marks a float attribute whose value happens to be an integer (e.g. `{ float: 1 }`). */
export function floatAttr(value: number): { float: number } {
  return { float: value };
}

// ---- protobuf wire format ---------------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

/** Appends protobuf fields to a growing list of byte chunks. */
class Writer {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  /** A varint; negative values are encoded as 64-bit two's complement (10 bytes), as int64 fields require. */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  private tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  int(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new RangeError(`protobuf int field ${field}: ${value} is not a safe integer`);
    this.tag(field, WIRE_VARINT);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.push(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

// ---- ONNX messages ----------------------------------------------------------------------------------------

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function attribute(w: Writer, name: string, value: AttrValue): void {
  w.string(1, name); // name
  if (typeof value === 'string') {
    w.int(20, ATTR_STRING).string(4, value);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) w.int(20, ATTR_INT).int(3, value);
    else w.int(20, ATTR_FLOAT).float(2, value);
  } else if (Array.isArray(value)) {
    if (value.every((v) => Number.isInteger(v))) {
      w.int(20, ATTR_INTS);
      for (const v of value) w.int(8, v); // ints (unpacked repeated int64)
    } else {
      w.int(20, ATTR_FLOATS);
      for (const v of value) w.float(7, v);
    }
  } else {
    w.int(20, ATTR_FLOAT).float(2, value.float);
  }
}

function valueInfo(w: Writer, v: OnnxValue): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.type); // elem_type
      tensor.message(2, (shape) => {
        for (const d of v.dims) {
          shape.message(1, (dim) => {
            if (typeof d === 'number') dim.int(1, d); // dim_value
            else dim.string(2, d); // dim_param
          });
        }
      });
    }),
  );
}

function tensor(w: Writer, t: OnnxInitializer): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)); // raw_data (little-endian host)
}

/** Serializes a graph into ONNX ModelProto bytes that `InferenceSession.create(bytes)` accepts. */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const w = new Writer();
  w.int(1, 8); // ir_version 8 (ONNX 1.13+)
  w.string(2, 'distiq-bench'); // producer_name
  w.message(8, (o) => o.string(1, '').int(2, g.opset ?? 17)); // opset_import (default domain)
  w.message(7, (graph) => {
    g.nodes.forEach((n, i) => {
      graph.message(1, (node) => {
        for (const x of n.inputs) node.string(1, x);
        for (const y of n.outputs) node.string(2, y);
        node.string(3, `${n.op}_${i}`);
        node.string(4, n.op);
        for (const [name, value] of Object.entries(n.attrs ?? {})) node.message(5, (a) => attribute(a, name, value));
        if (n.domain) node.string(7, n.domain);
      });
    });
    graph.string(2, g.name);
    for (const t of g.initializers ?? []) graph.message(5, (m) => tensor(m, t));
    for (const v of g.inputs) graph.message(11, (m) => valueInfo(m, v));
    for (const v of g.outputs) graph.message(12, (m) => valueInfo(m, v));
  });
  return w.finish();
}
