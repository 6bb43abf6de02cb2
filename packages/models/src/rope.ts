// Rotary inverse frequencies. HF computes inv_freq = 1 / θ^(2i/D) in float32 from an int64 arange; this does the same
// arithmetic in float64 and the graph stores it as float32, which matches HF to the last bit for the sizes we use.

/** inv_freq[i] = 1 / theta^(2i / dim), i < dim/2 (rotate-half layout: dim i pairs with i + dim/2). */
export function defaultInvFreq(theta: number, dim: number): Float64Array {
  const out = new Float64Array(dim / 2);
  for (let i = 0; i < dim / 2; i++) out[i] = 1 / theta ** ((2 * i) / dim);
  return out;
}
