// Odd encodings and odd values in the files a user hands to `dembed embed`, each caught where it is.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { register as embed } from "../src/commands/embed.js";

let root: string;
const saved = process.env.DEMBED_CACHE;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "dembed-misuse-"));
  process.env.DEMBED_CACHE = join(root, "cache");
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
  process.env.DEMBED_CACHE = saved;
});

async function embedFile(name: string, bytes: string | Buffer): Promise<string> {
  const input = join(root, name);
  writeFileSync(input, bytes);
  const out = join(root, `${name}.out`);
  const program = new Command("dembed").exitOverride().configureOutput({ writeErr: () => undefined });
  embed(program);
  const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  try {
    await program.parseAsync(["node", "dembed", "embed", "--model", "tiny", "--input", input, "--out", out, "--no-progress"]);
  } finally {
    err.mockRestore();
  }
  return readFileSync(out, "utf8");
}

describe("embed input files", () => {
  it("a leading byte-order mark is dropped, and the first line's id kept as written", async () => {
    const lines = (await embedFile("bom.jsonl", '\ufeff{"id": "q1", "text": "first"}\n{"id": "q2", "text": "second"}\n')).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(["q1", "q2"]);
  });

  it("bytes that are not UTF-8 are refused with file:line", async () => {
    const bad = Buffer.concat([Buffer.from('"fine"\n"caf'), Buffer.from([0xe9]), Buffer.from('"\n')]);
    await expect(embedFile("latin1.jsonl", bad)).rejects.toThrow(/latin1\.jsonl:2: not valid UTF-8/);
  });

  it("an id that is not a string or a number is refused, not copied to the output", async () => {
    await expect(embedFile("nested.jsonl", '{"id": "a", "text": "x"}\n{"id": {"nested": true}, "text": "y"}\n')).rejects.toThrow(
      /nested\.jsonl:2: "id" must be a string or a number, got object/,
    );
  });
});
