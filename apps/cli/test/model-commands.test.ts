// dembed forward / embed / export, run in-process through commander on a tiny model.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DecoderSession, batchFromRows, createTinyModel, loadModel } from "@dembed/models";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as embed } from "../src/commands/embed.js";
import { register as exportCommand } from "../src/commands/export.js";
import { register as forward } from "../src/commands/forward.js";
import { register as train } from "../src/commands/train.js";

let dir: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dembed-cli-models-"));
  model = await createTinyModel("qwen2", join(dir, "tiny"), { seed: 11 });
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

async function dembed(...args: string[]): Promise<void> {
  const program = new Command("dembed").exitOverride().configureOutput({ writeErr: () => undefined });
  for (const register of [forward, embed, exportCommand, train]) register(program);
  await program.parseAsync(["node", "dembed", ...args]);
}

describe("model commands", () => {
  it("forward writes last_hidden_state as {dims, data}, equal to the library's", async () => {
    const input = { input_ids: [[5, 17, 300, 9], [0, 0, 12, 13]], attention_mask: [[1, 1, 1, 1], [0, 0, 1, 1]] };
    await writeFile(join(dir, "in.json"), JSON.stringify(input));
    await dembed("forward", "--model", model, "--input", join(dir, "in.json"), "--attention", "bidirectional", "--out", join(dir, "out.json"), "--threads", "1");
    const written = JSON.parse(await readFile(join(dir, "out.json"), "utf8")) as { dims: number[]; data: number[] };
    expect(written.dims).toEqual([2, 4, 64]);
    const session = new DecoderSession(await loadModel(model), { threads: 1 });
    try {
      const direct = await session.run(batchFromRows(input.input_ids, input.attention_mask), { attention: "bidirectional" });
      expect(written.data).toEqual(Array.from(direct.data));
    } finally {
      await session.release();
    }
  });

  it("train --prepack refuses a name that is not a projection, in one line, before reading the config", async () => {
    await expect(dembed("train", "--config", join(dir, "absent.json"), "--prepack", "gate_proj,mlp")).rejects.toThrow(
      /option '--prepack <which>' argument 'gate_proj,mlp' is invalid\. "mlp" is not a projection; expected "all", "none" or names from q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj/,
    );
  });

  it("forward names the file and field of a bad input", async () => {
    await writeFile(join(dir, "bad.json"), JSON.stringify({ input_ids: [[1, 2]], attention_mask: [[1]] }));
    await expect(dembed("forward", "--model", model, "--input", join(dir, "bad.json"), "--out", join(dir, "x.json"))).rejects.toThrow(
      /bad.json: row 0 has 2 ids and 1 mask values/,
    );
    await writeFile(join(dir, "bad2.json"), JSON.stringify({ ids: [[1]] }));
    await expect(dembed("forward", "--model", model, "--input", join(dir, "bad2.json"), "--out", join(dir, "x.json"))).rejects.toThrow(
      /bad2.json: field 'input_ids'/,
    );
  });

  it("embed writes one line per input, in order, with ids kept", async () => {
    await writeFile(join(dir, "texts.jsonl"), ['"first text"', '{"id": "b", "text": "second, longer text here"}', "", '{"id": 3, "text": "third"}'].join("\n"));
    await dembed("embed", "--model", model, "--input", join(dir, "texts.jsonl"), "--out", join(dir, "emb.jsonl"), "--no-progress", "--threads", "1");
    const lines = (await readFile(join(dir, "emb.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l) as { id?: unknown; embedding: number[] });
    expect(lines.map((l) => l.id)).toEqual([undefined, "b", 3]);
    for (const l of lines) expect(Math.hypot(...l.embedding)).toBeCloseTo(1, 5);
    await writeFile(join(dir, "bad.jsonl"), '"ok"\n{"txt": 1}\n');
    await expect(dembed("embed", "--model", model, "--input", join(dir, "bad.jsonl"), "--out", join(dir, "e.jsonl"), "--no-progress")).rejects.toThrow(
      /bad.jsonl:2: expected a JSON string or an object with a string "text" field/,
    );
  });

  it("export writes the ONNX folder", async () => {
    await dembed("export", "--model", model, "--out", join(dir, "exported"), "--attention", "bidirectional");
    expect((await stat(join(dir, "exported", "onnx", "model.onnx_data"))).size).toBeGreaterThan(1e6);
    const config = JSON.parse(await readFile(join(dir, "exported", "config.json"), "utf8")) as { dembed: { attention: string } };
    expect(config.dembed.attention).toBe("bidirectional");
  });

  it("embed --session-cache writes an entry, opens it on the next run, and writes the same vectors", async () => {
    const saved = { cache: process.env.DEMBED_CACHE, session: process.env.DEMBED_SESSION_CACHE };
    process.env.DEMBED_CACHE = join(dir, "dembed-cache");
    await writeFile(join(dir, "few.jsonl"), '"one text"\n"another, longer text"\n');
    const said: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (said.push(String(chunk)), true));
    try {
      const run = (out: string, ...flags: string[]) => dembed("embed", "--model", model, "--input", join(dir, "few.jsonl"), "--out", join(dir, out), "--no-progress", "--threads", "1", ...flags);
      await run("plain.jsonl");
      expect(process.env.DEMBED_SESSION_CACHE).toBeUndefined();
      await run("first.jsonl", "--session-cache");
      expect(process.env.DEMBED_SESSION_CACHE).toBe("1");
      await run("second.jsonl", "--session-cache");
      const cacheLines = said.filter((l) => l.includes("session cache"));
      expect(cacheLines).toEqual([expect.stringMatching(/^embed: session cache: wrote .*dembed-cache\/sessions\//), expect.stringMatching(/^embed: session cache: opened /)]);
      const plain = await readFile(join(dir, "plain.jsonl"), "utf8");
      expect(await readFile(join(dir, "first.jsonl"), "utf8")).toBe(plain);
      expect(await readFile(join(dir, "second.jsonl"), "utf8")).toBe(plain);
    } finally {
      spy.mockRestore();
      for (const [key, value] of [["DEMBED_CACHE", saved.cache], ["DEMBED_SESSION_CACHE", saved.session]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
