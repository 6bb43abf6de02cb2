import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toyConfig, toyParts } from "../test/toy-run.js";
import { NonFiniteError } from "./tensors.js";
import { checkpointsDir, logPath, train, type StepReport } from "./trainer.js";

let out: string;
beforeEach(async () => {
  out = await mkdtemp(join(tmpdir(), "dembed-train-"));
});
afterEach(async () => {
  await rm(out, { recursive: true, force: true });
});

const readLog = async (dir: string) =>
  (await readFile(logPath(dir), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number; lr: number; grad_norm: number });

describe("train (GradCache loop on a toy encoder)", () => {
  it("lowers the loss over 30 steps, logs every step and keeps the newest checkpoints", async () => {
    const reports: StepReport[] = [];
    await train(toyParts(out, toyConfig()), { onStep: (r) => void reports.push(r) });
    const log = await readLog(out);
    expect(log.map((r) => r.step)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const early = (log[0]!.loss + log[1]!.loss + log[2]!.loss) / 3;
    const late = (log[27]!.loss + log[28]!.loss + log[29]!.loss) / 3;
    expect(late).toBeLessThan(0.6 * early);
    expect(log[0]!.lr).toBe(0); // warmup starts at 0, as HF's schedule does
    expect(log[29]!.lr).toBeGreaterThan(0);
    expect((await readdir(checkpointsDir(out))).sort()).toEqual(["checkpoint-20", "checkpoint-30"]);
    expect(await readdir(out)).toContain("adapter.safetensors");
    // 2 micro-batches × 4 examples × 3 texts (query, positive, negative) × 6 "tokens" per toy text.
    expect(reports.at(-1)?.tokens).toBe(2 * 4 * 3 * 6);
  });

  it("resumed after a kill, ends with the same weights and log as an uninterrupted run", async () => {
    const config = toyConfig({ steps: 12, save_steps: 5 });
    const straight = toyParts(join(out, "a"), config);
    await train(straight, {});

    const killed = toyParts(join(out, "b"), config);
    await expect(
      train(killed, {
        onStep: (r) => {
          if (r.step === 7) throw new Error("killed");
        },
      }),
    ).rejects.toThrow("killed");
    // A fresh process: new encoder (other weights until restored), new sampler at position 0.
    const resumed = toyParts(join(out, "b"), config);
    const warnings: string[] = [];
    await train(resumed, { resume: true, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    for (const name of Object.keys(straight.params)) expect(Array.from(resumed.params[name]!)).toEqual(Array.from(straight.params[name]!));
    const strip = (log: Awaited<ReturnType<typeof readLog>>) => log.map(({ step, loss, lr, grad_norm }) => ({ step, loss, lr, grad_norm }));
    expect(strip(await readLog(join(out, "b")))).toEqual(strip(await readLog(join(out, "a"))));
  });

  it("skips a damaged newest checkpoint when resuming", async () => {
    const config = toyConfig({ steps: 6, save_steps: 2, keep_checkpoints: 3 });
    const straight = toyParts(join(out, "a"), config);
    await train(straight, {});
    const parts = toyParts(join(out, "b"), config);
    await expect(train(parts, { onStep: (r) => { if (r.step === 4) throw new Error("killed"); } })).rejects.toThrow("killed");
    await writeFile(join(checkpointsDir(join(out, "b")), "checkpoint-4", "trainer_state.json"), "{}");
    const warnings: string[] = [];
    const resumed = toyParts(join(out, "b"), config);
    await train(resumed, { resume: true, onWarning: (m) => warnings.push(m) });
    expect(warnings[0]).toMatch(/skipping damaged checkpoint .*checkpoint-4/);
    expect(Array.from(resumed.params.W!)).toEqual(Array.from(straight.params.W!));
  });

  it("refuses to resume with a config that would change the run", async () => {
    const parts = toyParts(out, toyConfig({ steps: 4, save_steps: 2 }));
    await expect(train(parts, { onStep: (r) => { if (r.step === 3) throw new Error("killed"); } })).rejects.toThrow("killed");
    await expect(train(toyParts(out, toyConfig({ steps: 4, save_steps: 2, seed: 8 })), { resume: true })).rejects.toThrow(/the config differs in seed/);
  });

  it("will not start a fresh run over an earlier run's checkpoints", async () => {
    await train(toyParts(out, toyConfig({ steps: 3, save_steps: 1 })), {});
    await expect(train(toyParts(out, toyConfig({ steps: 3, save_steps: 1 })), {})).rejects.toThrow(/already holds checkpoints of a run \(newest: step 3\); resume it/);
  });

  it("stops on a non-finite loss before updating, keeping the last checkpoint", async () => {
    const parts = toyParts(out, toyConfig({ steps: 10, save_steps: 3 }));
    const encode = parts.encoder.encodeNoGrad.bind(parts.encoder);
    let calls = 0;
    // Per micro-batch: 4 queries in chunks of 3 + 1, 8 documents in 3 + 3 + 2, so 10 chunks per step;
    // poison the first chunk of step 5.
    parts.encoder.encodeNoGrad = async (chunk, seed) => {
      const e = await encode(chunk, seed);
      if (++calls === 4 * 10 + 1) e[0]!.fill(NaN);
      return e;
    };
    const error = await train(parts, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect((error as Error).message).toMatch(/^step 5, micro-batch 1: chunk 0, text 0: embedding\[0\] is NaN; stopped before updating/);
    expect(await readdir(checkpointsDir(out))).toEqual(["checkpoint-3"]);
  });
});
