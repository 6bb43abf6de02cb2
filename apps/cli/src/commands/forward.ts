import { readTextFile } from "@dembed/files";
import { rename, writeFile } from "node:fs/promises";
import { DecoderSession, batchFromRows, loadModel, type AttentionMode, type KernelChoice } from "@dembed/models";
import { InvalidArgumentError, Option } from "commander";
import { z } from "zod";
import type { RegisterCommand } from "./index.js";

const inputSchema = z.object({
  input_ids: z.array(z.array(z.number().int())).min(1, "needs at least one row"),
  attention_mask: z.array(z.array(z.number().int())).optional(),
});

interface ForwardFlags {
  model: string;
  allowDownload?: boolean;
  input: string;
  out: string;
  attention?: AttentionMode;
  kernel: KernelChoice;
  threads?: number;
  device: "cpu" | "cuda";
}

const positiveInteger = (value: string): number => {
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
};

/** `dembed forward`: last_hidden_state of any supported HF-layout model for given token ids, as fp32 JSON. */
export const register: RegisterCommand = (program) => {
  program
    .command("forward")
    .description("Run a model on token ids and write last_hidden_state as JSON {\"dims\": [B,T,H], \"data\": [...]} (fp32, padded positions 0).")
    .requiredOption("--model <dir|id>", "model folder, or org/name[@revision] in the local Hugging Face cache")
    .option("--allow-download", "download the model into the Hugging Face cache if it is missing there (config, tokenizer, safetensors; HF_TOKEN for gated repos; HF_HUB_OFFLINE=1 forbids it)")
    .requiredOption("--input <file.json>", "JSON {\"input_ids\": [[...]], \"attention_mask\": [[...]]} (mask defaults to all ones)")
    .requiredOption("--out <file.json>", "where to write the hidden states")
    .addOption(new Option("--attention <mode>", "attention mode (default: the architecture's own)").choices(["causal", "bidirectional"]))
    .addOption(new Option("--kernel <kernel>", "attention kernel").choices(["auto", "masked", "flash", "primitive"]).default("auto"))
    .option("--threads <n>", "ORT intra-op threads", positiveInteger)
    .addOption(new Option("--device <device>", "execution device (cuda falls back to cpu with a warning)").choices(["cpu", "cuda"]).default("cpu"))
    .action(async (flags: ForwardFlags) => {
      let raw: unknown;
      try {
        raw = JSON.parse(await readTextFile(flags.input, "--input"));
      } catch (e) {
        throw e instanceof SyntaxError ? new Error(`${flags.input}: not valid JSON (${e.message})`) : e;
      }
      const parsed = inputSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new Error(`${flags.input}: field '${issue.path.join(".") || "(root)"}': ${issue.message}`);
      }
      const ids = parsed.data.input_ids;
      const mask = parsed.data.attention_mask ?? ids.map((row) => row.map(() => 1));
      const batch = batchFromRows(ids, mask, flags.input);
      const model = await loadModel(flags.model, { allowDownload: flags.allowDownload === true });
      const session = new DecoderSession(model, { attention: flags.attention, kernel: flags.kernel, threads: flags.threads, device: flags.device });
      try {
        const out = await session.run(batch, { where: flags.input });
        const tmp = `${flags.out}.tmp-${process.pid}`;
        await writeFile(tmp, `{"dims":${JSON.stringify(out.dims)},"data":${JSON.stringify(Array.from(out.data))}}\n`);
        await rename(tmp, flags.out);
        process.stderr.write(`forward: ${model.spec.modelType}, ${session.attention} attention, dims [${out.dims.join(", ")}] → ${flags.out}\n`);
      } finally {
        await session.release();
      }
    });
};
