import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { latestCheckpoint, listCheckpoints, verifyCheckpoint, writeCheckpoint } from "./checkpoint.js";

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-ckpt-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const fillWith = (content: string) => async (dir: string) => {
  await mkdir(join(dir, "adapter"));
  await writeFile(join(dir, "adapter", "weights.bin"), content);
  await writeFile(join(dir, "state.json"), JSON.stringify({ content }));
};

describe("checkpoints", () => {
  it("writes complete checkpoints, keeps the newest ones and finds the latest", async () => {
    for (const step of [10, 20, 30]) await writeCheckpoint(root, step, fillWith(`s${step}`), { keep: 2 });
    expect((await readdir(root)).sort()).toEqual(["checkpoint-20", "checkpoint-30"]);
    const latest = await latestCheckpoint(root);
    expect(latest?.step).toBe(30);
    expect(await readFile(join(latest!.dir, "adapter", "weights.bin"), "utf8")).toBe("s30");
  });

  it("leaves no trace and keeps older checkpoints when writing fails midway", async () => {
    await writeCheckpoint(root, 10, fillWith("good"));
    await expect(
      writeCheckpoint(root, 20, async (dir) => {
        await writeFile(join(dir, "half.bin"), "x");
        throw new Error("disk full");
      }),
    ).rejects.toThrow(/disk full/);
    expect(await readdir(root)).toEqual(["checkpoint-10"]);
    expect((await latestCheckpoint(root))?.step).toBe(10);
  });

  it("ignores a temp folder left by a killed writer, and cleans it up on the next save", async () => {
    await writeCheckpoint(root, 10, fillWith("good"));
    // A dead process's half-written checkpoint (pid 2^22+1 is above Linux's pid_max default).
    const dead = join(root, `checkpoint-20.tmp-${2 ** 22 + 1}`);
    await mkdir(dead);
    await writeFile(join(dead, "state.json"), "{");
    expect((await latestCheckpoint(root))?.step).toBe(10);
    await writeCheckpoint(root, 30, fillWith("next"));
    expect((await readdir(root)).sort()).toEqual(["checkpoint-10", "checkpoint-30"]);
  });

  it("skips a damaged newest checkpoint and resumes from the last good one", async () => {
    await writeCheckpoint(root, 10, fillWith("good"));
    const bad = await writeCheckpoint(root, 20, fillWith("soon corrupted"));
    await writeFile(join(bad, "adapter", "weights.bin"), "tampered with!");
    const skipped: string[] = [];
    const latest = await latestCheckpoint(root, (dir, reason) => skipped.push(`${dir}: ${reason}`));
    expect(latest?.step).toBe(10);
    expect(skipped[0]).toMatch(/weights\.bin: checkpoint file does not match its SHA-256/);
    await expect(verifyCheckpoint(bad)).rejects.toThrow(/weights\.bin/);
  });

  it("replaces a checkpoint saved again at the same step", async () => {
    await writeCheckpoint(root, 10, fillWith("first"));
    const dir = await writeCheckpoint(root, 10, fillWith("second"));
    expect(await readFile(join(dir, "adapter", "weights.bin"), "utf8")).toBe("second");
    expect((await listCheckpoints(root)).map((c) => c.step)).toEqual([10]);
  });

  it("returns nothing for a missing or empty output folder", async () => {
    expect(await latestCheckpoint(join(root, "nope"))).toBeUndefined();
    expect(await latestCheckpoint(root)).toBeUndefined();
  });
});
