import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { openSafetensors, toFloat32, writeAtomically, writeSafetensors, type TensorToWrite } from "@dembed/models";
import { adapterFromTensors, adapterTensors, type AdapterTensor, type LoraAdapter } from "./adapter.js";
import { ADAPTER_CONFIG_FILE, ADAPTER_WEIGHTS_FILE, parsePeftConfig, peftConfigJson } from "./peft-config.js";
import { parseSettings, SETTINGS_FILE, settingsJson } from "./settings.js";

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeAtomically(path, async (file) => {
    await file.writeFile(JSON.stringify(value, null, 2) + "\n");
  });
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: not valid JSON: ${(error as Error).message}`);
  }
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/**
 * Writes a PEFT adapter folder: adapter_config.json, adapter_model.safetensors (float32, PEFT key names) and,
 * when the adapter carries them, dembed's settings in dembed_adapter.json. Each file is written atomically.
 * PEFT and llm2vec load the folder as is.
 */
export async function saveAdapter(dir: string, adapter: LoraAdapter): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tensors: Record<string, TensorToWrite> = {};
  for (const [key, t] of Object.entries(adapterTensors(adapter))) tensors[key] = { dtype: "F32", shape: t.shape, data: t.data };
  await writeSafetensors(join(dir, ADAPTER_WEIGHTS_FILE), tensors, { format: "pt" });
  if (adapter.settings !== undefined) await writeJson(join(dir, SETTINGS_FILE), settingsJson(adapter.settings));
  // The config goes last: a folder with a config but missing weights would look loadable.
  await writeJson(join(dir, ADAPTER_CONFIG_FILE), peftConfigJson(adapter.config, adapter.baseModelNameOrPath));
}

/**
 * Reads a PEFT LoRA adapter folder (ours or PEFT's, e.g. an llm2vec checkpoint). Weights in F32, BF16, F16 or
 * F64 are read as float32. PyTorch pickles (adapter_model.bin) are refused: they can run code when loaded.
 */
export async function loadAdapter(dir: string): Promise<LoraAdapter> {
  const configPath = join(dir, ADAPTER_CONFIG_FILE);
  if (!(await exists(configPath))) throw new Error(`${dir}: no ${ADAPTER_CONFIG_FILE}; not a PEFT adapter folder`);
  const parsed = parsePeftConfig(await readJson(configPath), configPath);
  const weightsPath = join(dir, ADAPTER_WEIGHTS_FILE);
  if (!(await exists(weightsPath))) {
    const pickle = await exists(join(dir, "adapter_model.bin"));
    throw new Error(
      pickle
        ? `${dir}: only adapter_model.bin (a PyTorch pickle) is present; dembed does not load pickles. Convert it to ${ADAPTER_WEIGHTS_FILE} with PEFT (save_pretrained(safe_serialization=True)).`
        : `${dir}: no ${ADAPTER_WEIGHTS_FILE}`,
    );
  }
  const file = await openSafetensors(weightsPath);
  const tensors: Record<string, AdapterTensor> = {};
  for (const entry of file.entries) {
    if (entry.shape.length !== 2) throw new Error(`${weightsPath}: tensor "${entry.name}" has shape [${entry.shape.join(", ")}], expected 2-D`);
    const loaded = await file.readTensor(entry.name);
    let data: Float32Array;
    try {
      data = toFloat32(loaded.dtype, loaded.data);
    } catch {
      throw new Error(`${weightsPath}: tensor "${entry.name}" has dtype ${loaded.dtype}; expected F32, BF16, F16 or F64`);
    }
    tensors[entry.name] = { shape: [entry.shape[0] as number, entry.shape[1] as number], data };
  }
  const settingsPath = join(dir, SETTINGS_FILE);
  const settings = (await exists(settingsPath)) ? parseSettings(await readJson(settingsPath), settingsPath) : undefined;
  return adapterFromTensors(parsed.config, tensors, {
    source: weightsPath,
    baseModelNameOrPath: parsed.baseModelNameOrPath,
    ...(settings === undefined ? {} : { settings }),
    ...(parsed.targetPattern === undefined ? {} : { targetPattern: parsed.targetPattern }),
  });
}
