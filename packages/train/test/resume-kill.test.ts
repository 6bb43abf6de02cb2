// Resume after a real kill: `dembed train` runs as a child process, is SIGKILLed once a checkpoint exists, resumed
// with --resume, and must end with the adapter, bit for bit, and the log of an uninterrupted run.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkpointsDir, listCheckpoints, trainModel } from "../src/index.js";
import { REPO, tinyConfig } from "./tiny-config.js";

const CLI = join(REPO, "apps/cli/src/main.ts");
const STEPS = 24;

let root: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "dembed-resume-kill-"));
  env = { ...process.env, DEMBED_CACHE: join(root, "cache") };
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function cli(args: string[], onSpawn?: (kill: () => void) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    // node itself with tsx as a loader: the tsx binary would run the CLI in a grandchild that a kill does not reach.
    const child = spawn(process.execPath, ["--import", "tsx", CLI, "train", ...args], { env, cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stderr }));
    onSpawn?.(() => child.kill("SIGKILL"));
  });
}

const exists = (path: string) => stat(path).then(() => true, () => false);

describe("dembed train --resume after a kill", () => {
  it("ends with the adapter and log of an uninterrupted run", async () => {
    const config = await tinyConfig({ steps: STEPS, save_steps: 4 });
    const configPath = join(root, "config.json");
    await writeFile(configPath, JSON.stringify(config));

    const whole = join(root, "whole");
    await trainModel(config, { outputDir: whole, cacheDir: join(root, "cache") });

    const killed = join(root, "killed");
    let killedAt = -1;
    const first = await cli(["--config", configPath, "--output", killed, "--no-progress"], (kill) => {
      const poll = setInterval(() => {
        void listCheckpoints(checkpointsDir(killed)).then((found) => {
          if (found.length > 0 && killedAt < 0) {
            killedAt = found[0]!.step;
            clearInterval(poll);
            kill();
          }
        }, () => undefined);
      }, 20);
    });
    expect(first.signal, first.stderr).toBe("SIGKILL");
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(STEPS);
    expect(await exists(join(killed, "adapter_config.json"))).toBe(false); // it really died mid-run

    const resumed = await cli(["--config", configPath, "--output", killed, "--resume", "--no-progress"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/done at step 24/);

    const adapterOf = (dir: string) => readFile(join(dir, "adapter_model.safetensors"));
    expect(Buffer.compare(await adapterOf(killed), await adapterOf(whole))).toBe(0);
    const steps = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l) as { step: number; loss: number });
    const a = steps(await readFile(join(killed, "train_log.jsonl"), "utf8"));
    const b = steps(await readFile(join(whole, "train_log.jsonl"), "utf8"));
    expect(a.map((r) => r.step)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(a.map((r) => r.loss)).toEqual(b.map((r) => r.loss));
  });
});
