import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { lockFileFor, lockOutput, OutputLockedError } from "./lock.js";
import { removeDeadTemps, tempOwnerPid } from "./pids.js";

const root = mkdtempSync(join(tmpdir(), "dembed-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pid of a process that has already exited. */
const deadPid = (): number => Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString());

describe("lockOutput", () => {
  it("lets one writer in and names it to the second", async () => {
    const out = join(root, "a", "results");
    const first = await lockOutput(out, { command: "bench longembed --out results" });
    const holder = JSON.parse(readFileSync(lockFileFor(out), "utf8")) as { pid: number; host: string };
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    const second = lockOutput(out);
    await expect(second).rejects.toBeInstanceOf(OutputLockedError);
    await expect(second).rejects.toThrow(`is being written by another run (pid ${process.pid}, started`);
    await first.release();
    expect(existsSync(lockFileFor(out))).toBe(false);
    const again = await lockOutput(out);
    await again.release();
  });

  it("of many concurrent takers exactly one wins", async () => {
    const out = join(root, "race.jsonl");
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => lockOutput(out)));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) if (r.status === "fulfilled") await r.value.release();
  });

  it("takes over the lock of a dead process and says so", async () => {
    const out = join(root, "stale");
    const pid = deadPid();
    writeFileSync(lockFileFor(out), JSON.stringify({ pid, host: hostname(), started: "2026-01-01T00:00:00Z", command: "train" }));
    const said: string[] = [];
    const lock = await lockOutput(out, { onTakeover: (m) => said.push(m) });
    expect(lock.tookOverFrom?.pid).toBe(pid);
    expect(said.join("\n")).toMatch(new RegExp(`took over the lock of a run that is gone \\(pid ${pid}`));
    await lock.release();
  });

  it("never takes over a lock held on another host", async () => {
    const out = join(root, "remote");
    writeFileSync(lockFileFor(out), JSON.stringify({ pid: 1, host: "some-other-host", started: "x", command: "embed" }));
    await expect(lockOutput(out)).rejects.toThrow(/pid 1 on host some-other-host.*If that run is gone, delete/);
  });

  it("does not release a lock another run has taken over meanwhile", async () => {
    const out = join(root, "taken");
    const lock = await lockOutput(out);
    writeFileSync(lockFileFor(out), JSON.stringify({ pid: process.pid, host: hostname(), started: "later", command: "other" }));
    await lock.release();
    expect(existsSync(lockFileFor(out))).toBe(true);
  });
});

describe("removeDeadTemps", () => {
  it("removes the temp names of dead processes and keeps live ones and ordinary files", async () => {
    const dir = join(root, "temps");
    mkdirSync(dir);
    const dead = deadPid();
    const names = {
      deadHidden: `.adapter_model.safetensors.${dead}.1a2b3c4d.tmp`,
      deadFolder: `Dream.tmp-${dead}`,
      deadHex: `report.md.tmp-${dead}-0f0f0f0f`,
      live: `Dream.tmp-${process.pid}`,
      plain: "adapter_model.safetensors",
    };
    for (const n of Object.values(names)) writeFileSync(join(dir, n), "x");
    const removed = await removeDeadTemps(dir);
    expect(removed.sort()).toEqual([names.deadHidden, names.deadFolder, names.deadHex].sort());
    expect(existsSync(join(dir, names.live))).toBe(true);
    expect(existsSync(join(dir, names.plain))).toBe(true);
    expect(tempOwnerPid("results.json")).toBeUndefined();
  });
});
