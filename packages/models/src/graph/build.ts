// DecoderSpec + bound checkpoint → ONNX graph: input_ids, attention_mask [B, T] int64 → last_hidden_state
// [B, T, hidden] float32 after the final norm (no lm_head). Weights stay in the checkpoint's .safetensors files as
// external data; F16/BF16 weights are cast to the compute dtype inside the graph.
import {
  Graph, add, cast, deferUntil, gather, linear, matMulNBits, mul, perTokenInt8Linear, reshape, rmsNormalization, rotaryEmbedding, silu, where, type DType, type Value,
} from "@dembed/onnx";
import type { AttentionMode } from "../config.js";
import type { DecoderSpec, LayerModules } from "../architectures/types.js";
import type { BoundWeights, WeightDtype } from "../weights.js";
import type { QuantizedLinears } from "../quantized.js";
import type { WeightFormat } from "../weight-format.js";
import { MLP_CHUNKS, MLP_CHUNK_TOKENS, inTokenChunks } from "./chunks.js";
import { attend, type AttentionInputs, type AttentionKernel, type AttentionShape } from "./attention.js";
import { additiveMask, attentionMask, positionIds, realTokens, ropeTables, seqlensK, totalLength, type ComputeDtype } from "./inputs.js";

/**
 * Called once for every linear layer with its module path ("model.layers.0.self_attn.q_proj"), input and output; returns
 * the value that replaces the output. LoRA adapters enter the graph through it; the model knows nothing of them.
 */
export type LinearHook = (modulePath: string, x: Value, y: Value) => Value;

export interface DecoderGraphOptions {
  /** A fixed mode, or "runtime": a bool scalar input named `causal` (masked and primitive kernels only). */
  readonly attention?: AttentionMode | "runtime";
  readonly kernel?: AttentionKernel;
  /** float32 on CPU; float16 / bfloat16 for CUDA. Norm statistics and RoPE angles stay float32. */
  readonly computeDtype?: ComputeDtype;
  readonly linearHook?: LinearHook;
  /**
   * How the layer projections' weights are held (default fp32): fp32 widens them once at load (ORT folds the Cast);
   * bf16 keeps the checkpoint's BF16/F16 bytes and widens one layer's weights when that layer runs; int8/int4 use
   * `quantized` (MatMulNBits, or perTokenInt8Linear for weights in the "channels" layout). Embeddings, norms and
   * biases are the same in every format.
   */
  readonly weights?: { readonly format: WeightFormat; readonly quantized?: QuantizedLinears };
  /**
   * Run each MLP over chunks of the batch's tokens, at most this many each until B·T needs over MLP_CHUNKS of them
   * (see inTokenChunks), so long inputs never hold [B·T, intermediate] activations whole. Default MLP_CHUNK_TOKENS for
   * inference kernels; 0 turns it off; the primitive (training) kernel does not chunk unless asked.
   */
  readonly mlpChunkTokens?: number;
  /**
   * "gather" (default): the graph takes input_ids and gathers from the embedding table, which ORT maps from the
   * checkpoint. "input": it takes `inputs_embeds` [B, T, hidden] in the compute dtype, which the caller gathers
   * (EmbeddingRows), so the table is not in the graph and its mapped pages never count in the process's RSS.
   */
  readonly embeddings?: "gather" | "input";
  /**
   * fp32 only: false for a module (its path, e.g. "model.layers.0.mlp.down_proj") routes its weight through deferUntil,
   * so ORT cannot pre-pack it and packs it per call instead. Pre-packing holds a packed copy per orientation the graph
   * reads a weight in (a VJP graph reads x·Wᵀ and dY·W: two copies), so a trainer picks which modules are worth it.
   * Default: every weight is a constant ORT may pre-pack.
   */
  readonly prepacked?: (module: string) => boolean;
  readonly name?: string;
}

export interface DecoderGraph {
  readonly graph: Graph;
  readonly spec: DecoderSpec;
  readonly attention: AttentionMode | "runtime";
  readonly kernel: AttentionKernel;
  /** input_ids [B, T] int64, or inputs_embeds [B, T, hidden] when built with embeddings "input". */
  readonly tokens: Value;
  readonly attentionMask: Value;
  readonly causal?: Value;
  readonly lastHiddenState: Value;
}

/**
 * MatMulNBits accuracy_level by width (big-model.ts, 28-layer Dream-7B shape). int8: 4, int8 activations on AVX-512
 * VNNI, 1.4–1.8× bf16. int4: 0, fp32 compute: level 4 pre-packs its own scales and per-block sums beside the codes,
 * which cost 1.6 GiB of peak (6.45 → 4.90 GiB at 4 × 512) for 20 % more speed, and int4 is the format chosen for memory.
 */
const ACCURACY_LEVEL = { 8: 4, 4: 0 } as const;

export const INPUT_NAMES = { inputIds: "input_ids", inputsEmbeds: "inputs_embeds", attentionMask: "attention_mask", causal: "causal" } as const;
export const OUTPUT_NAME = "last_hidden_state";

const ONNX_DTYPE: Record<WeightDtype, DType> = { F32: "float32", F16: "float16", BF16: "bfloat16" };

export function buildDecoderGraph(weights: BoundWeights, options: DecoderGraphOptions = {}): DecoderGraph {
  const spec = weights.spec;
  const c = spec.config;
  const mode = options.attention ?? spec.defaultAttention;
  const kernel = options.kernel ?? "masked";
  const dtype = options.computeDtype ?? "float32";
  if (mode === "runtime" && kernel === "flash") {
    throw new Error("buildDecoderGraph: the flash kernels fix the attention mode at build time; use attention 'causal' or 'bidirectional'");
  }
  const graph = new Graph(options.name ?? `${spec.modelType}-${mode}-${kernel}`);

  const embedsIn = options.embeddings === "input";
  const tokens = embedsIn ? graph.input(INPUT_NAMES.inputsEmbeds, dtype, ["batch", "sequence", c.hiddenSize]) : graph.input(INPUT_NAMES.inputIds, "int64", ["batch", "sequence"]);
  const mask = graph.input(INPUT_NAMES.attentionMask, "int64", ["batch", "sequence"]);
  const causal = mode === "runtime" ? graph.input(INPUT_NAMES.causal, "bool", []) : undefined;

  // One initializer per checkpoint tensor, and at most one Cast of it: ORT folds every Cast of a weight into its own
  // widened copy, so a weight used by several MLP chunks must share one.
  const casts = new Map<string, Value>();
  const param = (name: string, castTo: DType | null = dtype): Value => {
    const entry = weights.tensors.get(name);
    if (!entry) throw new Error(`buildDecoderGraph: parameter '${name}' is not bound`);
    const value = graph.initializers.get(name)?.value ?? graph.externalInitializer(name, ONNX_DTYPE[entry.dtype], entry.shape, {
      location: entry.path,
      offset: entry.dataOffset,
      length: entry.byteLength,
    });
    if (!castTo || value.dtype === castTo) return value;
    let widened = casts.get(name);
    if (!widened) casts.set(name, (widened = cast(value, castTo)));
    return widened;
  };
  const chunkTokens = options.mlpChunkTokens ?? (kernel === "primitive" ? 0 : MLP_CHUNK_TOKENS);
  if (!Number.isSafeInteger(chunkTokens) || chunkTokens < 0) throw new Error(`buildDecoderGraph: mlpChunkTokens must be a non-negative integer, got ${chunkTokens}`);
  const hook = options.linearHook;
  const format = options.weights?.format ?? "fp32";
  const quantized = options.weights?.quantized;
  if ((format === "int8" || format === "int4") && !quantized) throw new Error(`buildDecoderGraph: --weights ${format} needs the quantized weights (quantizedLinears)`);
  // bf16: one Cast per module, after the value the module's layer starts from, shared by every MLP chunk.
  const lateCasts = new Map<string, Value>();
  const storedWeight = (module: string, anchor: Value): Value => {
    const raw = param(`${module}.weight`, null);
    if (raw.dtype === dtype) return raw;
    let widened = lateCasts.get(module);
    if (!widened) lateCasts.set(module, (widened = cast(deferUntil(raw, anchor), dtype)));
    return widened;
  };
  const project = (module: string, x: Value, anchor: Value): Value => {
    if (format === "fp32") {
      const weight = param(`${module}.weight`);
      return linear(x, options.prepacked && !options.prepacked(module) ? deferUntil(weight, anchor) : weight);
    }
    if (format === "bf16") return linear(x, storedWeight(module, anchor));
    const q = quantized!.get(`${module}.weight`);
    if (!q) throw new Error(`buildDecoderGraph: no quantized weight for '${module}.weight'`);
    const tensor = (suffix: string, type: DType, dims: number[], ext: typeof q.codes) =>
      graph.initializers.get(`${module}.${suffix}`)?.value ?? graph.externalInitializer(`${module}.${suffix}`, type, dims, ext);
    if (q.kind === "channels") {
      const codes = tensor("qweight", "int8", [q.k, q.n], q.codes);
      const scales = tensor("scales", "float32", [q.n], q.scales);
      // The u8s8 kernel computes in float32 only.
      return dtype === "float32" ? perTokenInt8Linear(x, codes, scales) : cast(perTokenInt8Linear(cast(x, "float32"), codes, scales), dtype);
    }
    const blocks = q.k / q.blockSize;
    const codes = tensor("qweight", "uint8", [q.n, blocks, (q.blockSize * q.bits) / 8], q.codes);
    const scales = tensor("scales", "float32", [q.n * blocks], q.scales);
    const zeroPoints = tensor("qzeros", "uint8", [q.zeroPoints.length], q.zeroPoints);
    return matMulNBits(x, codes, scales.dtype === dtype ? scales : cast(scales, dtype), zeroPoints, { n: q.n, k: q.k, bits: q.bits, blockSize: q.blockSize, accuracyLevel: ACCURACY_LEVEL[q.bits] });
  };
  const linearOf = (module: string, x: Value, bias: boolean, anchor: Value = x): Value => {
    const product = project(module, x, anchor);
    const y = bias ? add(product, param(`${module}.bias`)) : product;
    return hook ? hook(module, x, y) : y;
  };
  // RMSNormalization and RotaryEmbedding have VJP rules, so even the primitive (training) kernel keeps them.
  const norm = (x: Value, module: string): Value => rmsNormalization(x, param(`${module}.weight`), { epsilon: c.rmsNormEps });

  const { cos, sin } = graph.scope("rope", () => ropeTables(graph, positionIds(mask), spec.invFreq, dtype));
  const attnInputs: AttentionInputs = graph.scope("mask", () => {
    const attnMode: AttentionMode | Value = causal ?? (mode as AttentionMode);
    if (kernel === "masked") return { kernel, mode: attnMode, mask: attentionMask(mask, attnMode) };
    if (kernel === "primitive") return { kernel, mode: attnMode, mask: additiveMask(attentionMask(mask, attnMode), dtype) };
    return { kernel, mode: attnMode, seqlensK: seqlensK(mask), totalLength: totalLength(mask) };
  });
  const shape: AttentionShape = { numHeads: c.numHeads, numKvHeads: c.numKvHeads, headDim: c.headDim };

  // Gather from the stored table, then cast: a BF16 embedding table is never widened as a whole.
  let x = embedsIn ? tokens : graph.scope("embed", () => {
    const rows = gather(param(`${spec.modules.embed}.weight`, null), tokens, 0); // [B, T, hidden]
    return rows.dtype === dtype ? rows : cast(rows, dtype);
  });

  for (let i = 0; i < c.numLayers; i++) {
    const m = spec.modules.layer(i);
    x = graph.scope(`layers.${i}`, () => {
      const h = norm(x, m.inputNorm);
      const rotate = (y: Value, heads: number, headNorm: string | undefined) => {
        const normed = headNorm ? reshape(norm(reshape(y, [0, 0, heads, c.headDim]), headNorm), [0, 0, heads * c.headDim]) : y;
        return rotaryEmbedding(normed, cos, sin, { numHeads: heads });
      };
      const q = rotate(linearOf(m.q, h, spec.bias.q), c.numHeads, m.qNorm); // [B, T, H·D]
      const k = rotate(linearOf(m.k, h, spec.bias.k), c.numKvHeads, m.kNorm); // [B, T, KV·D]
      const v = linearOf(m.v, h, spec.bias.v);
      const afterAttn = add(x, linearOf(m.o, attend(attnInputs, shape, q, k, v), spec.bias.o));
      const h2 = norm(afterAttn, m.postAttentionNorm);
      const mlpLinear = (module: string, x: Value, bias: boolean) => linearOf(module, x, bias, h2);
      const mlpOut = chunkTokens > 0 ? inTokenChunks(h2, chunkTokens, MLP_CHUNKS, (chunk) => mlp(chunk, m, mlpLinear, spec.bias.mlp)) : mlp(h2, m, mlpLinear, spec.bias.mlp);
      return add(afterAttn, mlpOut);
    });
  }

  const hidden = graph.scope("final", () => {
    const normed = norm(x, spec.modules.finalNorm);
    const out = normed.dtype === "float32" ? normed : cast(normed, "float32");
    // Padded positions hold no token; zero them so left and right padding give identical tensors.
    return where(realTokens(mask), out, 0);
  });
  const lastHiddenState = graph.output(hidden, OUTPUT_NAME);
  return { graph, spec, attention: mode, kernel, tokens, attentionMask: mask, causal, lastHiddenState };
}

/** SwiGLU: down(silu(gate(h)) · up(h)). */
function mlp(h: Value, m: LayerModules, linearOf: (module: string, x: Value, bias: boolean) => Value, bias: boolean): Value {
  return linearOf(m.down, mul(silu(linearOf(m.gate, h, bias)), linearOf(m.up, h, bias)), bias);
}
