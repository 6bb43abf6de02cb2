import { openSafetensors, writeSafetensors, type TensorToWrite } from "@dembed/models";
import type { NamedTensors } from "./tensors.js";
import type { TensorStore } from "./train-state.js";

/** Float32 tensors in .safetensors files (1-D, one per name), written atomically. */
export const safetensorsStore: TensorStore = {
  async write(path, tensors) {
    const out: Record<string, TensorToWrite> = {};
    for (const [name, t] of Object.entries(tensors)) out[name] = { dtype: "F32", shape: [t.length], data: t };
    await writeSafetensors(path, out, { format: "dembed" });
  },
  async read(path) {
    const file = await openSafetensors(path);
    const out: NamedTensors = {};
    for (const entry of file.entries) {
      if (entry.dtype !== "F32") throw new Error(`${path}: tensor "${entry.name}" is ${entry.dtype}, expected F32`);
      out[entry.name] = (await file.readTensor(entry.name)).data as Float32Array;
    }
    return out;
  },
};
