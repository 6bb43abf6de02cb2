// A self-contained folder for other ONNX clients (transformers.js, onnxruntime in any language):
//   onnx/model.onnx + onnx/model.onnx_data (the weights, copied in their stored dtype), config.json, tokenizer files.
// The graph is the general masked one with the attention mode fixed, so any padding works without dembed's batch
// reshuffling; its inputs are input_ids and attention_mask and its output last_hidden_state.
import { copyFile, mkdir, open, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toModelProto } from "@dembed/onnx";
import type { AttentionMode } from "./config.js";
import { buildDecoderGraph } from "./graph/build.js";
import type { ComputeDtype } from "./graph/inputs.js";
import { loadModel } from "./model.js";
import type { ResolveOptions } from "./resolve.js";
import { TOKENIZER_CONFIG_FILE, TOKENIZER_FILE } from "./tokenizer/index.js";
import { withProfileTemplate } from "./tokenizer/post-processor.js";
import { prepareWeights } from "./load-weights.js";
import type { WeightChoice, WeightFormat } from "./weight-format.js";

export interface ExportOptions {
  /** Default: the architecture's own. */
  readonly attention?: AttentionMode;
  readonly computeDtype?: ComputeDtype;
  readonly resolve?: ResolveOptions;
  readonly onProgress?: (copiedBytes: number, totalBytes: number) => void;
  /** How the folder stores the projections' weights (default fp32: as stored, widened by ORT at load). */
  readonly weights?: WeightChoice;
  readonly onNotice?: (message: string) => void;
}

export interface ExportedModel {
  readonly dir: string;
  readonly modelPath: string;
  readonly dataPath: string;
  readonly attention: AttentionMode;
  readonly weights: WeightFormat;
  readonly bytes: number;
}

const DATA_FILE = "model.onnx_data";
/** Page-aligned tensors let ORT map them instead of copying. */
const ALIGN = 4096;
const COPY_CHUNK = 64 << 20;

export async function exportModel(ref: string, outDir: string, options: ExportOptions = {}): Promise<ExportedModel> {
  const model = await loadModel(ref, options.resolve);
  const attention = options.attention ?? model.spec.defaultAttention;
  const choice = options.weights ?? "fp32";
  // The folder is for another machine: only "auto" plans against this one's memory.
  const prepared = await prepareWeights(model, choice, {
    maxLength: 512,
    ...(choice === "auto" ? {} : { availableBytes: Number.POSITIVE_INFINITY }),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  const { graph } = buildDecoderGraph(model.weights, {
    attention,
    kernel: "masked",
    computeDtype: options.computeDtype,
    weights: { format: prepared.format, ...(prepared.quantized ? { quantized: prepared.quantized } : {}) },
  });
  const onnxDir = join(outDir, "onnx");
  await mkdir(onnxDir, { recursive: true });

  // Lay every weight out in one data file and point the graph's initializers at it.
  const placed = new Map<string, { location: string; offset: number; length: number }>();
  let offset = 0;
  for (const init of graph.initializers.values()) {
    if (!init.external) continue;
    offset = Math.ceil(offset / ALIGN) * ALIGN;
    placed.set(init.value.name, { location: DATA_FILE, offset, length: init.external.length });
    offset += init.external.length;
  }
  const dataPath = join(onnxDir, DATA_FILE);
  await writeAtomic(dataPath, async (tmp) => {
    const out = await open(tmp, "w");
    try {
      let copied = 0;
      const buffer = Buffer.allocUnsafe(COPY_CHUNK);
      for (const init of graph.initializers.values()) {
        const ext = init.external;
        if (!ext) continue;
        const target = placed.get(init.value.name)!;
        const src = await open(ext.location, "r");
        try {
          for (let done = 0; done < ext.length; ) {
            const n = Math.min(COPY_CHUNK, ext.length - done);
            const { bytesRead } = await src.read(buffer, 0, n, ext.offset + done);
            if (bytesRead !== n) throw new Error(`${ext.location}: ended early while copying '${init.value.name}'`);
            await out.write(buffer, 0, n, target.offset + done);
            done += n;
            copied += n;
          }
        } finally {
          await src.close();
        }
        options.onProgress?.(copied, offset);
      }
    } finally {
      await out.close();
    }
  });

  const modelPath = join(onnxDir, "model.onnx");
  const proto = toModelProto(graph, {
    moveToExternal: placed,
    // Every external initializer is in `placed`; this only stops the serializer from checking the old locations.
    externalLocation: () => DATA_FILE,
    docString: `dembed export of ${ref} (${attention} attention)`,
  });
  await writeAtomic(modelPath, (tmp) => writeFile(tmp, proto));

  // transformers.js reads the data file by this flag; the dembed record says which attention the graph has.
  const config = {
    ...model.spec.config.raw,
    "transformers.js_config": { use_external_data_format: true },
    dembed: { attention, weights: prepared.format, exported_from: ref },
  };
  await writeAtomic(join(outDir, "config.json"), (tmp) => writeFile(tmp, `${JSON.stringify(config, null, 2)}\n`));
  const tokenizerSource = join(model.dir, TOKENIZER_FILE);
  let tokenizerJson: Record<string, unknown>;
  try {
    tokenizerJson = JSON.parse(await readFile(tokenizerSource, "utf8")) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${tokenizerSource}: cannot read (${(e as Error).message})`);
  }
  // The profile's BOS/EOS go into the file, so clients other than dembed produce dembed's token ids.
  const exportedTokenizer = withProfileTemplate(tokenizerJson, model.spec.tokenizer.profile, tokenizerSource);
  await writeAtomic(join(outDir, TOKENIZER_FILE), (tmp) => writeFile(tmp, JSON.stringify(exportedTokenizer)));
  for (const file of [TOKENIZER_CONFIG_FILE]) {
    try {
      await writeAtomic(join(outDir, file), (tmp) => copyFile(join(model.dir, file), tmp));
    } catch (e) {
      // tokenizer_config.json is optional in a model folder; tokenizer.json is not.
      if ((e as NodeJS.ErrnoException).code !== "ENOENT" || file === TOKENIZER_FILE) throw new Error(`${join(model.dir, file)}: cannot copy (${(e as Error).message})`);
    }
  }
  return { dir: outDir, modelPath, dataPath, attention, weights: prepared.format, bytes: offset };
}

async function writeAtomic(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await write(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
