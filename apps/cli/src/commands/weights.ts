// --weights, shared by embed, bench and eval: one description, and quantize-at-load progress as a line per layer.
import { WEIGHT_CHOICES, type QuantizeProgress } from "@dembed/models";
import { Option } from "commander";

export const weightsOption = (): Option =>
  new Option(
    "--weights <format>",
    "how the weights are held: fp32, bf16 (a BF16/F16 checkpoint as stored, widened per layer), int8 or int4 (quantized at load, cached); auto (default) picks the most faithful that fits in memory and says which",
  )
    .choices([...WEIGHT_CHOICES])
    .default("auto");

/** "embed: quantizing 7/196 weights (model.layers.0.mlp.up_proj.weight), 0.4 GiB read" at most every 2 s. */
export function loadProgressLine(command: string): (p: QuantizeProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.done !== p.total && now - last < 2000) return;
    last = now;
    process.stderr.write(`${command}: quantizing ${p.done}/${p.total} weights (${p.tensor}), ${(p.bytesRead / 1024 ** 3).toFixed(1)} GiB read\n`);
  };
}
