/** Trainable parameters or their gradients, by name (e.g. `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`). */
export type NamedTensors = Record<string, Float32Array>;

/** Names in a fixed order, so every reduction over parameters sums in the same order on every run. */
export function sortedNames(tensors: NamedTensors): string[] {
  return Object.keys(tensors).sort();
}

/** Throws naming the first tensor and index that is not finite. */
export function assertFinite(tensors: NamedTensors, what: string): void {
  for (const name of sortedNames(tensors)) {
    const t = tensors[name] as Float32Array;
    for (let k = 0; k < t.length; k++) {
      if (!Number.isFinite(t[k])) throw new Error(`${what}: ${name}[${k}] is ${t[k]}`);
    }
  }
}

/** Throws unless `other` has exactly the names and lengths of `reference` (any arrays: only lengths are read). */
export function assertSameLayout(reference: Readonly<Record<string, { readonly length: number }>>, other: NamedTensors, what: string): void {
  for (const name of Object.keys(reference).sort()) {
    const t = other[name];
    if (t === undefined) throw new Error(`${what}: missing tensor ${name}`);
    if (t.length !== reference[name]!.length) {
      throw new Error(`${what}: ${name} has ${t.length} values, expected ${reference[name]!.length}`);
    }
  }
  for (const name of Object.keys(other)) {
    if (!(name in reference)) throw new Error(`${what}: unexpected tensor ${name}`);
  }
}

/** Training stopped because a loss, embedding or gradient stopped being finite. */
export class NonFiniteError extends Error {
  override readonly name = "NonFiniteError";
}
