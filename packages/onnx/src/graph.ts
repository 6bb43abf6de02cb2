// The graph record that every op, the serializer and the autodiff share. Ops (ops.ts) infer shapes and call
// `Graph.addNode`; nothing here knows any op's semantics.

export type DType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int8"
  | "uint8"
  | "bool";

/** A dimension: a fixed size, or a named symbolic size ("batch", "seq") that the session fixes at run time. */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface DataTypeMap {
  float32: Float32Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  float64: Float64Array;
  int64: BigInt64Array;
  int32: Int32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}
export type TensorData = DataTypeMap[DType];

export const BYTES_PER_ELEMENT: Record<DType, number> = {
  float32: 4, float16: 2, bfloat16: 2, float64: 8, int64: 8, int32: 4, int8: 1, uint8: 1, bool: 1,
};

export const isFloat = (d: DType): boolean => d === "float32" || d === "float16" || d === "bfloat16" || d === "float64";

/** Float attributes are wrapped so that 1 and 1.0 serialize as the types ONNX expects. */
export class FloatAttr {
  constructor(readonly value: number) {}
}
export class FloatsAttr {
  constructor(readonly value: readonly number[]) {}
}
export const attrFloat = (v: number): FloatAttr => new FloatAttr(v);
export const attrFloats = (v: readonly number[]): FloatsAttr => new FloatsAttr(v);

export interface TensorAttr {
  readonly kind: "tensor";
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TensorData;
}
/** Plain numbers are INT attributes; strings are STRING; arrays follow their element type; a Graph is a GRAPH (a body). */
export type AttrValue = number | readonly number[] | string | readonly string[] | FloatAttr | FloatsAttr | TensorAttr | Graph;
export type Attrs = Readonly<Record<string, AttrValue>>;

export class GraphBuildError extends Error {
  override name = "GraphBuildError";
}

export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly dtype: DType,
    readonly shape: Shape,
    /** The node that computes this value; null for graph inputs and initializers. */
    readonly producer: Node | null,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}: ${this.dtype}[${this.shape.join(",")}]`;
  }
}

export interface Node {
  readonly opType: string;
  /** "" is the default ONNX domain; "com.microsoft" for contrib ops. */
  readonly domain: string;
  readonly name: string;
  /** null marks an omitted optional input (serialized as ""). */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly Value[];
  readonly attrs: Attrs;
}

export interface ExternalData {
  /** Path of the data file, relative to the .onnx file's folder when serialized. */
  readonly location: string;
  readonly offset: number;
  readonly length: number;
}

export interface Initializer {
  readonly value: Value;
  readonly data?: TensorData;
  readonly external?: ExternalData;
  /**
   * Also listed as a graph input, so a feed could replace it. ORT then treats it as non-constant: no constant folding
   * reads it (a Cast of it runs at run time instead of becoming a widened copy), and no kernel pre-packs it.
   */
  readonly overridable?: boolean;
}

export interface OutputType {
  readonly dtype: DType;
  readonly shape: Shape;
}

/**
 * A model graph, or the body of a Scan nested in one (`subgraph`). A body reads its enclosing graphs' values by name,
 * as ONNX allows; it shares their name pool (ONNX wants names unique across scopes), and the inputs, initializers and
 * opsets asked of it are the root's.
 */
export class Graph {
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: Map<string, Initializer>;
  /** Opset imports; ops raise the version they need. */
  readonly opsets: Map<string, number>;
  private readonly names: Set<string>;
  private readonly scopes: string[] = [];
  /** Set once the node that holds this body exists: a node added later would run in the wrong place. */
  private sealedBy: string | null = null;

  constructor(
    readonly name = "dembed",
    /** The graph this one is the body of a node in. */
    readonly parent: Graph | null = null,
  ) {
    this.initializers = parent ? parent.initializers : new Map();
    this.opsets = parent ? parent.opsets : new Map([["", 23]]);
    this.names = parent ? parent.names : new Set();
  }

  /** A body graph for a node of this one (Scan's `body`): its values may read this graph's. */
  subgraph(name: string): Graph {
    return new Graph(this.uniqueName(name), this);
  }

  /** Closes a body once `node` holds it; its values can no longer take new nodes. */
  seal(node: string): void {
    this.sealedBy = node;
  }

  /** The outermost graph: the model's. */
  get root(): Graph {
    return this.parent ? this.parent.root : this;
  }

  /** True when `other` is this graph or encloses it, so its values are visible here. */
  sees(other: Graph): boolean {
    for (let g: Graph | null = this; g; g = g.parent) if (g === other) return true;
    return false;
  }

  private prefix(): string {
    const path: string[] = [];
    for (let g: Graph | null = this; g; g = g.parent) path.unshift(...g.scopes);
    return path.length ? `${path.join("/")}/` : "";
  }

  /** A unique name under the current scope, so ORT errors point at a readable place ("layers.3/attn/MatMul_2"). */
  uniqueName(base: string): string {
    const name = this.peekName(base);
    this.names.add(name);
    return name;
  }

  /** The name `uniqueName(base)` would return now, without claiming it (ops name the node in build errors). */
  peekName(base: string): string {
    const prefix = this.prefix();
    let name = `${prefix}${base}`;
    for (let i = 1; this.names.has(name); i++) name = `${prefix}${base}_${i}`;
    return name;
  }

  /** Runs `build` with node and value names prefixed by `scope`. */
  scope<T>(scope: string, build: () => T): T {
    this.scopes.push(scope);
    try {
      return build();
    } finally {
      this.scopes.pop();
    }
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new GraphBuildError(`graph '${this.name}': the name '${name}' is already used`);
    this.names.add(name);
    return name;
  }

  /** A model input; asked of a body, the root's (a body's own inputs come from `bodyInput`). */
  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.parent) return this.root.input(name, dtype, shape);
    const v = new Value(this, this.claim(name), dtype, shape, null);
    this.inputs.push(v);
    return v;
  }

  /** A body's own input: what the enclosing node hands it on each iteration. */
  bodyInput(name: string, dtype: DType, shape: Shape): Value {
    if (!this.parent) throw new GraphBuildError(`graph '${this.name}': bodyInput is for a body graph (use input)`);
    const v = new Value(this, this.uniqueName(name), dtype, shape, null);
    this.inputs.push(v);
    return v;
  }

  initializer(name: string, dtype: DType, dims: readonly number[], data: TensorData): Value {
    if (this.parent) return this.root.initializer(name, dtype, dims, data);
    const count = dims.reduce((a, b) => a * b, 1);
    if (data.length !== count) {
      throw new GraphBuildError(`initializer '${name}': ${data.length} elements for dims [${dims}] (expected ${count})`);
    }
    const v = new Value(this, this.claim(name), dtype, dims, null);
    this.initializers.set(v.name, { value: v, data });
    return v;
  }

  /** A weight that stays in its own file (e.g. a .safetensors tensor), read by ORT at session creation. */
  externalInitializer(name: string, dtype: DType, dims: readonly number[], external: ExternalData, options: { overridable?: boolean } = {}): Value {
    if (this.parent) return this.root.externalInitializer(name, dtype, dims, external, options);
    const bytes = dims.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
    if (bytes !== external.length) {
      throw new GraphBuildError(
        `initializer '${name}': ${dtype}[${dims}] needs ${bytes} bytes but ${external.location} gives ${external.length}`,
      );
    }
    const v = new Value(this, this.claim(name), dtype, dims, null);
    this.initializers.set(v.name, { value: v, external, ...(options.overridable ? { overridable: true } : {}) });
    return v;
  }

  /** Low level: ops call this after they have checked operands and inferred output types. */
  addNode(
    opType: string,
    inputs: readonly (Value | null)[],
    attrs: Attrs,
    outputTypes: readonly OutputType[],
    options: { domain?: string; name?: string; outputNames?: readonly string[] } = {},
  ): Value[] {
    // The node goes to the innermost graph among its operands' (an op on a body value and a weight is the body's).
    let target: Graph = this;
    for (const v of inputs) {
      if (!v || target.sees(v.graph)) continue;
      if (!v.graph.sees(target)) throw new GraphBuildError(`${opType}: operand ${v.name} belongs to another graph`);
      target = v.graph;
    }
    if (target !== this) return target.addNode(opType, inputs, attrs, outputTypes, options);
    if (this.sealedBy) {
      const inner = inputs.find((v) => v?.graph === this);
      throw new GraphBuildError(`${opType}: operand ${inner?.name ?? "?"} is a value inside the body of '${this.sealedBy}', which is not visible outside it`);
    }
    const nodeName = this.uniqueName(options.name ?? opType);
    const outputs: Value[] = [];
    const node: Node = { opType, domain: options.domain ?? "", name: nodeName, inputs, outputs, attrs };
    outputTypes.forEach((t, i) => {
      const name = options.outputNames?.[i] ? this.claim(options.outputNames[i]!) : this.uniqueName(`${nodeName.split("/").pop()}_out${i}`);
      outputs.push(new Value(this, name, t.dtype, t.shape, node));
    });
    this.nodes.push(node);
    return outputs;
  }

  /** Marks `value` as a graph output, under `name` when given (an Identity node renames it). */
  output(value: Value, name?: string): Value {
    let out = value;
    if (name && name !== value.name) {
      [out] = this.addNode("Identity", [value], {}, [{ dtype: value.dtype, shape: value.shape }], { outputNames: [name] }) as [Value];
    }
    this.outputs.push(out);
    return out;
  }

  useOpset(domain: string, version: number): void {
    if ((this.opsets.get(domain) ?? 0) < version) this.opsets.set(domain, version);
  }
}

export const describe = (v: Value): string => `${v.name} ${v.dtype}[${v.shape.join(",")}]`;

/** Every node of `graph` and of the bodies nested in it, each node before the nodes of its bodies. */
export function* allNodes(graph: Graph): Generator<Node> {
  for (const node of graph.nodes) {
    yield node;
    for (const body of Object.values(node.attrs)) if (body instanceof Graph) yield* allNodes(body);
  }
}
