// Graph → ONNX ModelProto bytes. Inline initializers go to raw_data; external ones keep (location, offset, length)
// so weights stay in their own files (e.g. .safetensors) and a >2 GB model loads by path.
import {
  FloatAttr, FloatsAttr, Graph, GraphBuildError,
  type AttrValue, type Initializer, type Shape, type TensorAttr, type TensorData, type Value,
} from "./graph.js";
import { ATTRIBUTE_TYPE, ModelProto, ONNX_DATA_TYPE } from "./proto/onnx-proto.js";
import { bytesOf } from "./tensor.js";
import { hasAbsoluteExternal, relocateExternal } from "./external.js";
import { isAbsolute } from "node:path";

export interface SerializeOptions {
  producer?: string;
  producerVersion?: string;
  docString?: string;
  /**
   * The folder the session will resolve external data against (session config EXTERNAL_FOLDER_CONFIG, or the .onnx
   * file's folder). Absolute locations are rewritten relative to it; without it they are an error, since ORT
   * refuses absolute paths.
   */
  externalDataFolder?: string;
  /** Low level: rewrites each external initializer's location (saveModel uses it for hard-linked weights). */
  externalLocation?: (init: Initializer) => string;
  /** Initializers listed here are written as external data at the given place instead of inline. */
  moveToExternal?: ReadonlyMap<string, { location: string; offset: number; length: number }>;
}

/** The protobuf format stops at 2 GiB; anything near it must go to external data. */
const PROTO_LIMIT = 2 ** 31 - 1;

/** IR version that goes with the highest default-domain opset (onnx/docs/Versioning.md). */
const irVersionFor = (opset: number): number => (opset >= 25 ? 13 : opset === 24 ? 12 : 11);

export function toModelProto(graph: Graph, options: SerializeOptions = {}): Uint8Array {
  checkGraph(graph);
  const initializerNames = new Set(graph.initializers.keys());
  const relocate = options.externalLocation ?? externalLocator(graph, options.externalDataFolder);
  let inlineBytes = 0;
  const initializer = [...graph.initializers.values()].map((init) => {
    const moved = options.moveToExternal?.get(init.value.name);
    if (moved) return externalTensor(init.value, moved.location, moved.offset, moved.length);
    if (init.external) {
      return externalTensor(init.value, relocate(init), init.external.offset, init.external.length);
    }
    inlineBytes += init.data!.byteLength;
    return { name: init.value.name, dims: dimsOf(init.value), data_type: ONNX_DATA_TYPE[init.value.dtype], raw_data: bytesOf(init.data!) };
  });
  if (inlineBytes > PROTO_LIMIT) {
    throw new GraphBuildError(
      `graph '${graph.name}': ${inlineBytes} bytes of inline initializers exceed the 2 GiB protobuf limit; use saveModel(), which moves them to a data file`,
    );
  }
  const defaultOpset = graph.opsets.get("") ?? 23;
  const message = {
    ir_version: irVersionFor(defaultOpset),
    producer_name: options.producer ?? "dembed",
    producer_version: options.producerVersion ?? "0.1.0",
    doc_string: options.docString,
    opset_import: [...graph.opsets].map(([domain, version]) => ({ domain, version })),
    graph: {
      ...graphProto(graph, [
        ...graph.inputs.filter((v) => !initializerNames.has(v.name)),
        ...[...graph.initializers.values()].filter((i) => i.overridable).map((i) => i.value),
      ]),
      initializer,
    },
  };
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

interface GraphMessage {
  name: string;
  node: { name: string; op_type: string; domain: string; input: string[]; output: string[]; attribute: AttributeMessage[] }[];
  input: ReturnType<typeof valueInfo>[];
  output: ReturnType<typeof valueInfo>[];
}
type AttributeMessage = { name: string; type: number } & Record<string, unknown>;

/** Nodes, inputs and outputs of a graph; a body's initializers are the root's, so only the root lists any. */
function graphProto(graph: Graph, inputs: readonly Value[]): GraphMessage {
  return {
    name: graph.name,
    node: graph.nodes.map((n) => ({
      name: n.name,
      op_type: n.opType,
      domain: n.domain,
      input: n.inputs.map((v) => (v ? v.name : "")),
      output: n.outputs.map((v) => v.name),
      attribute: Object.entries(n.attrs).map(([name, value]) => attributeProto(name, value, n.name)),
    })),
    input: inputs.map(valueInfo),
    output: graph.outputs.map(valueInfo),
  };
}

function externalLocator(graph: Graph, folder: string | undefined): (init: Initializer) => string {
  if (folder !== undefined) return relocateExternal(graph, folder);
  if (hasAbsoluteExternal(graph)) {
    const first = [...graph.initializers.values()].find((i) => i.external && isAbsolute(i.external.location))!;
    throw new GraphBuildError(
      `graph '${graph.name}': initializer '${first.value.name}' has the absolute location '${first.external!.location}', which ORT refuses; pass externalDataFolder (or use createSession(graph) / saveModel, which handle it)`,
    );
  }
  return (init) => init.external!.location;
}

function externalTensor(v: Value, location: string, offset: number, length: number) {
  return {
    name: v.name,
    dims: dimsOf(v),
    data_type: ONNX_DATA_TYPE[v.dtype],
    data_location: 1,
    external_data: [
      { key: "location", value: location },
      { key: "offset", value: String(offset) },
      { key: "length", value: String(length) },
    ],
  };
}

const dimsOf = (v: Value): number[] => v.shape.map((d) => d as number);

function valueInfo(v: Value) {
  return { name: v.name, type: { tensor_type: { elem_type: ONNX_DATA_TYPE[v.dtype], shape: { dim: shapeDims(v.shape) } } } };
}

/** Unknown dims (named "?…" by the ops) are written as neither value nor param, which ONNX reads as unknown. */
const shapeDims = (shape: Shape) =>
  shape.map((d) => (typeof d === "number" ? { dim_value: d } : d.startsWith("?") ? {} : { dim_param: d }));

const utf8 = new TextEncoder();

function tensorProto(t: TensorAttr) {
  return { dims: [...t.dims], data_type: ONNX_DATA_TYPE[t.dtype], raw_data: bytesOf(t.data as TensorData) };
}

function attributeProto(name: string, value: AttrValue, nodeName: string): AttributeMessage {
  const bad = (why: string) => new GraphBuildError(`node '${nodeName}': attribute '${name}' ${why}`);
  if (value instanceof FloatAttr) return { name, type: ATTRIBUTE_TYPE.FLOAT, f: value.value };
  if (value instanceof FloatsAttr) return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...value.value] };
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw bad(`is ${value}, not an integer (wrap float attributes with attrFloat)`);
    return { name, type: ATTRIBUTE_TYPE.INT, i: value };
  }
  if (typeof value === "string") return { name, type: ATTRIBUTE_TYPE.STRING, s: utf8.encode(value) };
  if (Array.isArray(value)) {
    if (value.every((x) => typeof x === "string")) {
      return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: (value as string[]).map((s) => utf8.encode(s)) };
    }
    if (value.every((x) => typeof x === "number" && Number.isInteger(x))) return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...value] };
    throw bad(`must be all integers or all strings (wrap float lists with attrFloats), got [${value.join(",")}]`);
  }
  if (value instanceof Graph) return { name, type: ATTRIBUTE_TYPE.GRAPH, g: graphProto(value, value.inputs) };
  if ((value as TensorAttr).kind === "tensor") return { name, type: ATTRIBUTE_TYPE.TENSOR, t: tensorProto(value as TensorAttr) };
  throw bad(`has an unsupported value ${String(value)}`);
}

/**
 * Every node input must be a graph input, an initializer or an earlier node's output: ORT would say less clearly. A
 * body may also read what its enclosing graphs know at its node.
 */
export function checkGraph(graph: Graph, outer: ReadonlySet<Value> = new Set()): void {
  const known = new Set<Value>([...outer, ...graph.inputs, ...(graph.parent ? [] : [...graph.initializers.values()].map((i) => i.value))]);
  for (const node of graph.nodes) {
    node.inputs.forEach((v, i) => {
      if (v && !known.has(v)) {
        throw new GraphBuildError(
          `graph '${graph.name}': node '${node.name}' (${node.opType}) input ${i} '${v.name}' is not produced before it (not an input, initializer or earlier output)`,
        );
      }
    });
    for (const body of Object.values(node.attrs)) if (body instanceof Graph) checkGraph(body, known);
    for (const o of node.outputs) known.add(o);
  }
  if (graph.outputs.length === 0) throw new GraphBuildError(`graph '${graph.name}' has no outputs (call graph.output(value))`);
  for (const o of graph.outputs) {
    if (!known.has(o)) throw new GraphBuildError(`graph '${graph.name}': output '${o.name}' is not computed by the graph`);
  }
}
