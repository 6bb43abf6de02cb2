// bin/dembed.mjs runs ../dist/main.js: a missing build is one line saying how to build, and a source newer than the
// build is named in a warning (the command still runs). Checked on a copy of the bin in a scratch layout.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const BIN = resolve(import.meta.dirname, "../bin/dembed.mjs");
let root: string | undefined;
afterEach(() => root && rmSync(root, { recursive: true, force: true }));

/** <root>/apps/cli/bin/dembed.mjs, as in the repository; the bin looks for ../dist and, for sources, ../../../. */
function layout(): { root: string; cli: string } {
  root = mkdtempSync(join(tmpdir(), "dembed-bin-"));
  const cli = join(root, "apps", "cli");
  mkdirSync(join(cli, "bin"), { recursive: true });
  copyFileSync(BIN, join(cli, "bin", "dembed.mjs"));
  copyFileSync(resolve(BIN, "../huge-pages.mjs"), join(cli, "bin", "huge-pages.mjs"));
  return { root, cli };
}

const run = (cli: string) => spawnSync(process.execPath, [join(cli, "bin", "dembed.mjs"), "--help"], { encoding: "utf8" });

describe("bin/dembed.mjs", () => {
  it("says how to build when dist/ is missing", () => {
    const { cli } = layout();
    const result = run(cli);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/the CLI is not built \(.*dist\/main\.js is missing\); run `npx -y pnpm@10\.34\.8 build`/);
  });

  it("runs dist/main.js, warning about a source newer than the build", () => {
    const { root, cli } = layout();
    mkdirSync(join(cli, "dist"));
    writeFileSync(join(cli, "dist", "main.js"), 'process.stdout.write(`ran ${process.argv.slice(2).join(" ")}\\n`);\n');
    mkdirSync(join(root, "packages", "x", "src"), { recursive: true });
    writeFileSync(join(root, "packages", "x", "src", "a.ts"), "");
    writeFileSync(join(cli, "dist", "inputs.json"), JSON.stringify(["packages/x/src/a.ts"]));
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(root, "packages", "x", "src", "a.ts"), past, past);
    const fresh = run(cli);
    expect([fresh.status, fresh.stdout, fresh.stderr]).toEqual([0, "ran --help\n", ""]);

    utimesSync(join(cli, "dist", "main.js"), new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    const stale = run(cli);
    expect(stale.stdout).toBe("ran --help\n");
    expect(stale.stderr).toMatch(/warning: packages\/x\/src\/a\.ts is newer than the build in apps\/cli\/dist; run `npx -y pnpm@10\.34\.8 build`/);
  });
});

describe("bin/dembed.mjs: huge pages for commands that open sessions", () => {
  function withMain(source: string): string {
    const { cli } = layout();
    mkdirSync(join(cli, "dist"));
    writeFileSync(join(cli, "dist", "main.js"), source);
    return join(cli, "bin", "dembed.mjs");
  }
  const env = (extra: Record<string, string>) => ({ ...process.env, GLIBC_TUNABLES: "", DEMBED_HUGE_PAGES: "1", ...extra });
  const printTunables = 'process.stdout.write(`${process.argv.slice(2).join(" ")}|${process.env.GLIBC_TUNABLES}\\n`); process.exitCode = 3;\n';

  it("relaunches model commands with glibc.malloc.hugetlb=1, passing arguments, output and exit code through", () => {
    const bin = withMain(printTunables);
    const embed = spawnSync(process.execPath, [bin, "embed", "--model", "m a"], { encoding: "utf8", env: env({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }) });
    expect([embed.status, embed.stdout, embed.stderr]).toEqual([3, "embed --model m a|glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1\n", ""]);
    const plain = spawnSync(process.execPath, [bin, "embed"], { encoding: "utf8", env: env({}) });
    expect(plain.stdout).toBe("embed|glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1\n"); // one arena: see huge-pages.mjs
    const help = spawnSync(process.execPath, [bin, "--help"], { encoding: "utf8", env: env({}) });
    expect(help.stdout).toBe("--help|\n"); // no second process for commands that load no model
    const off = spawnSync(process.execPath, [bin, "embed"], { encoding: "utf8", env: env({ DEMBED_HUGE_PAGES: "0" }) });
    expect(off.stdout).toBe("embed|\n");
    const chosen = spawnSync(process.execPath, [bin, "embed"], { encoding: "utf8", env: env({ GLIBC_TUNABLES: "glibc.malloc.hugetlb=0" }) });
    expect(chosen.stdout).toBe("embed|glibc.malloc.hugetlb=0\n"); // the user's own choice stands
  });

  it("passes a SIGTERM aimed at the launcher on, and ends by the same signal", async () => {
    const bin = withMain('process.stdout.write(`${process.pid}\\n`); setInterval(() => {}, 1000);\n');
    const launcher = spawn(process.execPath, [bin, "worker"], { env: env({}), stdio: ["ignore", "pipe", "inherit"] });
    const childPid = await new Promise<number>((done) => launcher.stdout!.once("data", (chunk: Buffer) => done(Number(chunk.toString().trim()))));
    expect(childPid).not.toBe(launcher.pid);
    launcher.kill("SIGTERM");
    const [code, signal] = await new Promise<[number | null, string | null]>((done) => launcher.on("exit", (c, s) => done([c, s])));
    expect([code, signal]).toEqual([null, "SIGTERM"]);
    expect(() => process.kill(childPid, 0)).toThrow(); // the relaunched process is gone too
  });
});
