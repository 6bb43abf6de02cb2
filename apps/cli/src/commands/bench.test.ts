import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { afterEach, describe, expect, it, vi } from "vitest";
import { register as bench } from "./bench.js";
import { register as evaluate } from "./eval.js";

const FIXTURES = fileURLToPath(new URL("../../../../benchmarks/fixtures", import.meta.url));
const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), "dembed-cli-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
  vi.restoreAllMocks();
});

async function run(args: string[], onErr: (line: string) => void = () => undefined): Promise<string> {
  const program = new Command("dembed").exitOverride();
  bench(program);
  evaluate(program);
  let out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (onErr(String(chunk)), true));
  await program.parseAsync(["node", "dembed", ...args]);
  return out;
}

describe("dembed bench / eval", () => {
  // An empty hub cache, so a developer's real HF cache never changes what these tests read.
  process.env.HF_HUB_CACHE = join(tmpdir(), "dembed-cli-no-hub");
  process.env.HF_DATASETS_CACHE = join(tmpdir(), "dembed-cli-no-datasets");

  it("bench followir --model bm25 runs end to end on fixture data and prints the report path and scores", async () => {
    const out = temp();
    const printed = await run(["bench", "followir", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache"]);
    expect(printed).toContain(join(out, "followir", "report.md"));
    expect(printed).toMatch(/BM25\s+robust04\s+-?\d+\.\d/);
    expect(JSON.parse(readFileSync(join(out, "followir", "BM25", "no_revision_available", "Core17InstructionRetrieval.json"), "utf8")).task_name).toBe("Core17InstructionRetrieval");
  });

  it("reads options from a config file, with flags taking precedence", async () => {
    const out = temp();
    const config = join(temp(), "bench.json");
    writeFileSync(config, JSON.stringify({ model: "bm25", tasks: ["pony", "biology"], out: join(out, "from-config"), data: FIXTURES, cache: false }));
    await run(["bench", "bright", "--config", config, "--out", out]);
    const report = readFileSync(join(out, "bright", "report.md"), "utf8");
    expect(report).toMatch(/\| Biology \|[\s\S]*\| Pony \|/);
    writeFileSync(config, JSON.stringify({ modle: "bm25" }));
    await expect(run(["bench", "bright", "--config", config])).rejects.toThrow(/config file .*bench\.json: .*modle/);
  });

  it("a partial --data folder runs the tasks it holds, says which it skipped, and fails only when none is found", async () => {
    const data = temp();
    cpSync(join(FIXTURES, "xlangai"), join(data, "xlangai"), { recursive: true });
    rmSync(join(data, "xlangai/BRIGHT/documents/pony-00000-of-00001.parquet"));
    const out = temp();
    let said = "";
    const printed = await run(["bench", "bright", "--model", "bm25", "--data", data, "--out", out, "--no-cache"], (line) => (said += line));
    expect(printed).toMatch(/BM25\s+biology\s+\d/);
    expect(said).toMatch(/skipped pony: data not found/);
    expect(readFileSync(join(out, "bright", "report.md"), "utf8")).toMatch(/pony/);
    rmSync(join(data, "xlangai/BRIGHT/documents/biology-00000-of-00001.parquet"));
    await expect(run(["bench", "bright", "--model", "bm25", "--data", data, "--out", out, "--no-cache"])).rejects.toThrow(/no task could be run/);
  });

  it("the report names the BRIGHT protocol and marks published numbers of another protocol as not comparable", async () => {
    const out = temp();
    await run(["bench", "bright", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache", "--tasks", "biology"]);
    const byDefault = readFileSync(join(out, "bright", "report.md"), "utf8");
    expect(byDefault).toMatch(/Excluded ids: protocol `bright` \(removed from the ranking/);
    expect(byDefault).toMatch(/\| \*\*Average\*\* \| +\| 14\.3 \| 17\.4 \| 21\.8 \| 25\.0 † \| 33\.0 † \|/);
    expect(byDefault).toMatch(/† Not comparable: .*Dream-7B embedder.* were produced under protocol `paper`/);
    expect(byDefault).toMatch(/the paper's code read 3066d29c9651a576c8aba4832d249807b181ecae; MTEB 1\.14\.12 and 2\.20\.0 read a75a0eb483f6a5233a6efc2d63d71540a4443dfb/);
    await run(["bench", "bright", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache", "--tasks", "biology", "--protocol", "paper"]);
    const paper = readFileSync(join(out, "bright", "report.md"), "utf8");
    expect(paper).toMatch(/\| 14\.3 † \| 17\.4 † \| 21\.8 † \| 25\.0 \| 33\.0 \|/);
  });

  it("BRIGHT long-document mode runs the domains that have long documents and lists the others as skipped", async () => {
    const data = temp();
    cpSync(join(FIXTURES, "xlangai"), join(data, "xlangai"), { recursive: true });
    const bright = join(data, "xlangai/BRIGHT");
    mkdirSync(join(bright, "long_documents"));
    cpSync(join(bright, "documents/biology-00000-of-00001.parquet"), join(bright, "long_documents/biology-00000-of-00001.parquet"));
    const out = temp();
    let said = "";
    const printed = await run(["bench", "bright", "--model", "bm25", "--data", data, "--out", out, "--no-cache", "--long-documents"], (l) => (said += l));
    expect(printed).toMatch(/BM25\s+biology\s+\d/);
    expect(said).toMatch(/skipped pony: data not found/);
    expect(readFileSync(join(out, "bright", "report.md"), "utf8")).toMatch(/pony.*long_documents/);
  });

  it("the FollowIR report names its scoring", async () => {
    const out = temp();
    await run(["bench", "followir", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache", "--followir-scoring", "mteb-1.14"]);
    expect(readFileSync(join(out, "followir", "report.md"), "utf8")).toMatch(/Secondary measures: `mteb-1\.14` scoring \(crosswise/);
  });

  it("--revision any reads a copy at another revision than the pinned one, and the results say so", async () => {
    const data = temp();
    cpSync(join(FIXTURES, "jhu-clsp/core17-instructions"), join(data, "jhu-clsp/core17-instructions"), { recursive: true });
    const other = "0123456789abcdef0123456789abcdef01234567";
    writeFileSync(join(data, "jhu-clsp/core17-instructions/REVISION"), `${other}\n`);
    const out = temp();
    const args = ["bench", "followir", "--model", "bm25", "--data", data, "--out", out, "--no-cache", "--tasks", "core17"];
    await expect(run(args)).rejects.toThrow(/^jhu-clsp\/core17-instructions: .*REVISION says revision 0123456789abcdef0123456789abcdef01234567, but tasks\.json pins e39ff896cf3efbbdeeb950e6bd7c79f266995b07; .*--revision any/);
    await run([...args, "--revision", "any"]);
    const folder = join(out, "followir", "BM25", "no_revision_available");
    const record = JSON.parse(readFileSync(join(folder, "reproducibility.dembed"), "utf8")).core17;
    expect(record).toMatchObject({ revision_policy: "any", dataset_revision: other, pinned_revision: "e39ff896cf3efbbdeeb950e6bd7c79f266995b07" });
    expect(JSON.parse(readFileSync(join(folder, "Core17InstructionRetrieval.json"), "utf8")).dataset_revision).toBe(other);
    expect(readFileSync(join(out, "followir", "report.md"), "utf8")).toMatch(/jhu-clsp\/core17-instructions @ 0123456789abcdef0123456789abcdef01234567 \(local folder: .*; --revision any; pinned: e39ff896cf3efbbdeeb950e6bd7c79f266995b07\)/);
    await expect(run([...args, "--revision", "latest"])).rejects.toThrow(/Allowed choices are pinned, any/);
  });

  it("eval takes <benchmark>:<task> arguments across benchmarks", async () => {
    const out = temp();
    const printed = await run(["eval", "longembed:passkey", "bright:pony", "--model", "bm25", "--data", FIXTURES, "--out", out, "--no-cache"]);
    expect(printed).toMatch(/BM25\s+passkey\s+100\.0/);
    expect(printed).toMatch(/BM25\s+pony\s+\d/);
    await expect(run(["eval", "nope:x", "--model", "bm25"])).rejects.toThrow(/"nope:x" is not <benchmark>\[:<task>\]/);
  });
});
