import { Rng } from "@dembed/data";
import type { ChunkEncoder } from "../src/gradcache.js";
import type { NamedTensors } from "../src/tensors.js";

/**
 * A small differentiable encoder in plain TS for testing GradCache without a model graph:
 * e = tanh(W · dropout(x) + b), with the dropout mask drawn from the chunk's seed.
 */
export class ToyEncoder implements ChunkEncoder<Float32Array[]> {
  readonly params: NamedTensors;
  /** Calls of encodeNoGrad / backwardChunk, to check orchestration. */
  readonly calls = { encode: 0, backward: 0 };

  constructor(
    readonly inDim: number,
    readonly outDim: number,
    seed: number,
    readonly dropout = 0,
  ) {
    const rng = Rng.seeded(seed);
    this.params = {
      W: Float32Array.from({ length: outDim * inDim }, () => (rng.nextFloat() * 2 - 1) / Math.sqrt(inDim)),
      b: Float32Array.from({ length: outDim }, () => (rng.nextFloat() * 2 - 1) * 0.1),
    };
  }

  private dropped(chunk: Float32Array[], seed: number): Float64Array[] {
    const rng = Rng.seeded(seed);
    const keep = 1 - this.dropout;
    return chunk.map((x) => Float64Array.from(x, (v) => (this.dropout === 0 ? v : rng.nextFloat() < keep ? v / keep : 0)));
  }

  private forward(chunk: Float32Array[], seed: number): { xs: Float64Array[]; es: Float64Array[] } {
    const W = this.params.W as Float32Array;
    const b = this.params.b as Float32Array;
    const xs = this.dropped(chunk, seed);
    const es = xs.map((x) => {
      const e = new Float64Array(this.outDim);
      for (let o = 0; o < this.outDim; o++) {
        let h = b[o] as number;
        for (let i = 0; i < this.inDim; i++) h += (W[o * this.inDim + i] as number) * (x[i] as number);
        e[o] = Math.tanh(h);
      }
      return e;
    });
    return { xs, es };
  }

  async encodeNoGrad(chunk: Float32Array[], seed: number): Promise<Float32Array[]> {
    this.calls.encode += 1;
    return this.forward(chunk, seed).es.map((e) => Float32Array.from(e));
  }

  async backwardChunk(chunk: Float32Array[], dEmbeddings: readonly Float32Array[], seed: number): Promise<NamedTensors> {
    this.calls.backward += 1;
    const { xs, es } = this.forward(chunk, seed);
    const dW = new Float64Array(this.outDim * this.inDim);
    const db = new Float64Array(this.outDim);
    xs.forEach((x, t) => {
      const e = es[t] as Float64Array;
      const de = dEmbeddings[t] as Float32Array;
      for (let o = 0; o < this.outDim; o++) {
        const dh = (de[o] as number) * (1 - (e[o] as number) ** 2);
        db[o] = (db[o] as number) + dh;
        for (let i = 0; i < this.inDim; i++) dW[o * this.inDim + i] = (dW[o * this.inDim + i] as number) + dh * (x[i] as number);
      }
    });
    return { W: Float32Array.from(dW), b: Float32Array.from(db) };
  }
}

/** Toy retrieval data: each document is its query plus noise, so a good encoder can match them. */
export function toyPairs(count: number, dim: number, seed: number): { queries: Float32Array[]; docs: Float32Array[] } {
  const rng = Rng.seeded(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  const queries = Array.from({ length: count }, () => Float32Array.from({ length: dim }, normal));
  const docs = queries.map((q) => q.map((v) => v + 0.5 * normal()));
  return { queries, docs };
}
