// Stage times of a whole run: the log's lines, the outcome's records, the report's section and the result JSON.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runBenchmark } from "../src/bench.js";
import { HashingEncoder } from "../src/encoder.js";
import type { MtebResult } from "../src/output/mteb.js";
import { wallSeconds } from "../src/stages.js";
import { bm25System, type System } from "../src/systems.js";
import { cleanTempDirs, FIXTURES, tempDir } from "./helpers.js";

afterEach(cleanTempDirs);

const emptyHub = () => {
  const d = tempDir();
  return { HF_HUB_CACHE: join(d, "hub"), HF_HOME: d, HF_DATASETS_CACHE: join(d, "ds") };
};
const SECONDS = String.raw`\d+\.\d+ s`;

describe("stage times", () => {
  it("LongEmbed: a log line per split and system, totals at the end, the report's table and the result JSON", async () => {
    const lines: string[] = [];
    const cacheDir = tempDir();
    const options = {
      benchmark: "longembed" as const,
      systems: [{ kind: "dense", name: "hashing-bow", encoder: new HashingEncoder({ dim: 64 }) } as System, bm25System()],
      outDir: tempDir(),
      load: { dataDir: tempDir(), env: emptyHub(), generator: { seed: 1, contextLengths: [64, 128], docsPerLength: 6, queriesPerLength: 3 } },
      settings: { cacheDir, batchSize: 4, log: (l: string) => lines.push(l) },
    };
    const outcome = await runBenchmark(options);

    for (const task of ["passkey", "needle"]) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^LongEmbed ${task}: data generated in ${SECONDS}$`)));
      for (const split of ["test_64", "test_128"]) {
        const dense = new RegExp(`^${task} ${split}, hashing-bow: ${SECONDS} \\(tokenize ${SECONDS}, model ${SECONDS}, embedding cache ${SECONDS}, search ${SECONDS}, scoring ${SECONDS}\\)$`);
        expect(lines).toContainEqual(expect.stringMatching(dense));
        expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${task} ${split}, BM25: ${SECONDS} \\(BM25 ${SECONDS}, scoring ${SECONDS}\\)$`)));
      }
    }
    expect(lines.at(-1)).toMatch(new RegExp(`^LongEmbed stage times: data ${SECONDS}, tokenize ${SECONDS}, model ${SECONDS}, .*files ${SECONDS}, report ${SECONDS}; ${SECONDS} in all$`));

    // The records: every split of every system, plus data per task, files per task and system, and the report.
    const of = (stage: string, system?: string) => outcome.stages.filter((e) => e.stage === stage && (system === undefined || e.system === system));
    expect(of("model", "hashing-bow").map((e) => `${e.task} ${e.split}`)).toEqual(["passkey test_64", "passkey test_128", "needle test_64", "needle test_128"]);
    expect(of("BM25", "BM25")).toHaveLength(4);
    expect(of("model", "BM25")).toHaveLength(0);
    expect(of("data").map((e) => e.task)).toEqual(["passkey", "needle"]);
    expect(of("files")).toHaveLength(4);
    expect(of("report")).toHaveLength(1);
    // A task's stages happened inside its evaluation time.
    for (const run of outcome.systems) {
      for (const r of run.results) expect(wallSeconds(r.stages)).toBeLessThanOrEqual(r.evaluationSeconds);
    }

    const report = readFileSync(outcome.reportFile, "utf8");
    const section = report.slice(report.indexOf("## Stage times"), report.indexOf("## Data"));
    expect(section).toMatch(/^\| Stage \| Seconds \| Share \|$/m);
    for (const stage of ["data", "tokenize", "model", "embedding cache", "search", "BM25", "scoring", "files"]) {
      expect(section).toMatch(new RegExp(`^\\| ${stage} \\| \\d+\\.\\d+ \\| \\d+\\.\\d% \\|$`, "m"));
    }
    expect(section).toMatch(/^\| Task \| Split \| System \| Seconds \| tokenize \| model \| embedding cache \| search \| BM25 \| scoring \|$/m);
    expect(section).toMatch(/^\| needle \| test_128 \| BM25 \| [\d.]+ \| – \| – \| – \| – \| [\d.]+ \| [\d.]+ \|$/m);

    const json = JSON.parse(readFileSync(join(outcome.resultDirs["hashing-bow"]!, "LEMBPasskeyRetrieval.json"), "utf8")) as MtebResult;
    const stages = json.dembed.stage_seconds;
    expect(new Set(stages.map((e) => e.split))).toEqual(new Set(["test_64", "test_128"]));
    expect(stages.filter((e) => e.split === "test_128").map((e) => e.stage)).toEqual(expect.arrayContaining(["tokenize", "model", "embedding cache", "search", "scoring"]));
    expect(stages.every((e) => e.task === "passkey" && e.seconds >= 0)).toBe(true);

    // Rerun from the cache: nothing is tokenized or run through the model, and the records say so.
    const again = await runBenchmark({ ...options, outDir: tempDir() });
    expect(again.stages.filter((e) => e.system === "hashing-bow" && (e.stage === "model" || e.stage === "tokenize"))).toEqual([]);
    expect(again.stages.filter((e) => e.system === "hashing-bow" && e.stage === "embedding cache")).toHaveLength(4);
  });

  it("FollowIR: reranking and scoring per task, for BM25 and a dense system", async () => {
    const lines: string[] = [];
    const outcome = await runBenchmark({
      benchmark: "followir",
      tasks: ["robust04"],
      systems: [bm25System(), { kind: "dense", name: "hashing", encoder: new HashingEncoder({ dim: 64 }) }],
      outDir: tempDir(),
      load: { dataDir: FIXTURES, env: emptyHub() },
      settings: { log: (l) => lines.push(l) },
    });
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^robust04, BM25: ${SECONDS} \\(BM25 ${SECONDS}, scoring ${SECONDS}\\)$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^robust04, hashing: ${SECONDS} \\(tokenize ${SECONDS}, model ${SECONDS}, embedding cache ${SECONDS}, search ${SECONDS}, scoring ${SECONDS}\\)$`)));
    const json = JSON.parse(readFileSync(join(outcome.resultDirs.hashing!, "Robust04InstructionRetrieval.json"), "utf8")) as MtebResult;
    expect(json.dembed.stage_seconds.map((e) => e.stage)).toEqual(expect.arrayContaining(["tokenize", "model", "search", "scoring"]));
  });
});
