import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonlLog } from "./log.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "dembed-log-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("JsonlLog", () => {
  it("writes one JSON object per line, starting fresh", async () => {
    const path = join(dir, "log.jsonl");
    await writeFile(path, "old\n");
    const log = await JsonlLog.open(path);
    await log.write({ step: 1, loss: 2.5 });
    await log.write({ step: 2, loss: 2.25 });
    expect(await readFile(path, "utf8")).toBe('{"step":1,"loss":2.5}\n{"step":2,"loss":2.25}\n');
  });

  it("on resume keeps records up to the checkpoint step and drops a line cut short by a kill", async () => {
    const path = join(dir, "log.jsonl");
    await writeFile(path, '{"step":1}\n{"step":2}\n{"step":3}\n{"step":4,"lo');
    const log = await JsonlLog.open(path, { resumeFromStep: 2 });
    await log.write({ step: 3, loss: 1 });
    expect(await readFile(path, "utf8")).toBe('{"step":1}\n{"step":2}\n{"step":3,"loss":1}\n');
  });

  it("names the line of a malformed record", async () => {
    const path = join(dir, "log.jsonl");
    await writeFile(path, '{"step":1}\nnot json\n{"step":3}\n');
    await expect(JsonlLog.open(path, { resumeFromStep: 3 })).rejects.toThrow(/log\.jsonl:2: not a JSON object/);
  });
});
