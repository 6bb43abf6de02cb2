import { WEIGHT_CHOICES, exportModel, type AttentionMode, type WeightChoice } from "@dembed/models";
import { Option } from "commander";
import type { RegisterCommand } from "./index.js";

interface ExportFlags {
  model: string;
  allowDownload?: boolean;
  out: string;
  attention?: AttentionMode;
  weights: WeightChoice;
}

/** `dembed export`: a self-contained ONNX folder (onnx/model.onnx + data, config, tokenizer) for other clients. */
export const register: RegisterCommand = (program) => {
  program
    .command("export")
    .description("Write onnx/model.onnx (+ onnx/model.onnx_data), config.json and the tokenizer files: a folder transformers.js and other ONNX clients load.")
    .requiredOption("--model <dir|id>", "model folder, or org/name[@revision] in the local Hugging Face cache")
    .requiredOption("--out <dir>", "output folder")
    .option("--allow-download", "download the model into the Hugging Face cache if it is missing there (config, tokenizer, safetensors; HF_TOKEN for gated repos; HF_HUB_OFFLINE=1 forbids it)")
    .addOption(new Option("--attention <mode>", "attention mode baked into the graph (default: the architecture's own)").choices(["causal", "bidirectional"]))
    .addOption(
      new Option("--weights <format>", "how the folder stores the layer projections: fp32 (as stored, widened at load), bf16 (kept as stored), int8 or int4 (MatMulNBits); auto plans for this machine")
        .choices([...WEIGHT_CHOICES])
        .default("fp32"),
    )
    .action(async (flags: ExportFlags) => {
      const exported = await exportModel(flags.model, flags.out, {
        attention: flags.attention,
        weights: flags.weights,
        onNotice: (m) => process.stderr.write(`export: ${m}\n`),
        resolve: { allowDownload: flags.allowDownload === true },
      });
      process.stderr.write(`export: ${exported.attention} attention, --weights ${exported.weights}, ${(exported.bytes / 2 ** 20).toFixed(1)} MiB of weights → ${exported.dir}\n`);
    });
};
