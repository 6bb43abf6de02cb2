// ORT's telemetry stays off unless the user turns it on: no store under the cache home, no mat-debug file per process.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const probe = fileURLToPath(new URL("../test/open-session.ts", import.meta.url));
const dirs: string[] = [];
// ORT 1.30 keeps its telemetry off by itself where one of these says it runs under CI (CI=true is enough).
const ciMarkers = ["CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL",
  "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER"];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Every file a session left under a private TMPDIR and XDG_CACHE_HOME (tsx's own cache aside). */
function leftovers(mode: "thread" | "worker", telemetry?: string): string[] {
  const root = mkdtempSync(join(tmpdir(), "dembed-telemetry-"));
  dirs.push(root);
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: root, XDG_CACHE_HOME: join(root, "cache") };
  delete env.ORT_DISABLE_TELEMETRY;
  if (telemetry !== undefined) env.ORT_DISABLE_TELEMETRY = telemetry;
  // Without the markers, the default case is shown off by dembed's setting, not by ORT's own CI check.
  for (const name of ciMarkers) delete env[name];
  const r = spawnSync(process.execPath, ["--import", "tsx", probe, mode], { env, encoding: "utf8" });
  expect(r.status, r.stderr).toBe(0);
  return (readdirSync(root, { recursive: true }) as string[]).filter((f) => !f.startsWith("tsx-")).sort();
}

describe("ORT telemetry", () => {
  it("is off by default, for sessions in this thread and in a worker thread", () => {
    expect(leftovers("thread")).toEqual([]);
    expect(leftovers("worker")).toEqual([]);
  });

  it("runs when the user asks for it (so the check above can fail)", () => {
    const files = leftovers("thread", "0");
    expect(files.some((f) => /^mat-debug-\d+\.log$/.test(f))).toBe(true);
    expect(files.some((f) => f.includes(join("Microsoft", "DeveloperTools")))).toBe(true);
  });
});
