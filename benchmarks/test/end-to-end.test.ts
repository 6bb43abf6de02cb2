import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runBenchmark } from "../src/bench.js";
import { HashingEncoder, type EncodeOptions, type EncodeResult, type TextEncoder } from "../src/encoder.js";
import { generatePasskey } from "../src/generate/synthetic.js";
import { loadBrightTask } from "../src/loaders/bright.js";
import type { MtebResult } from "../src/output/mteb.js";
import { runRetrievalTask } from "../src/runners/retrieval.js";
import { scoreFollowIr, scoreRun } from "../src/scoring.js";
import { bm25System, type System } from "../src/systems.js";
import { selectTasks } from "../src/tasks.js";
import type { RetrievalTaskData } from "../src/types.js";
import { cleanTempDirs, FIXTURES, tempDir } from "./helpers.js";

afterEach(cleanTempDirs);

/**
 * Puts every document on its own axis and every query on the axes of its relevant documents: cosine 1 (or −1 when
 * reversed) for relevant documents and 0 for the rest, so it ranks each relevant document first (or last).
 */
class OracleEncoder implements TextEncoder {
  readonly cacheKey: Record<string, string | number>;
  private readonly docAxis = new Map<string, number>();
  private readonly queryAxes = new Map<string, number[]>();

  constructor(data: RetrievalTaskData, private readonly sign: 1 | -1) {
    this.cacheKey = { model: sign > 0 ? "oracle" : "reversed-oracle" };
    for (const split of data.splits) {
      const axisOf = new Map(split.corpus.map((d) => [d.id, this.axis(d.text)]));
      for (const q of split.queries) {
        const axes = this.queryAxes.get(q.text) ?? [];
        for (const docId of Object.keys(split.qrels[q.id] ?? {})) axes.push(axisOf.get(docId)!);
        this.queryAxes.set(q.text, axes);
      }
    }
  }

  private axis(text: string): number {
    if (!this.docAxis.has(text)) this.docAxis.set(text, this.docAxis.size);
    return this.docAxis.get(text)!;
  }

  async encode(texts: string[], options: EncodeOptions): Promise<EncodeResult> {
    const dim = this.docAxis.size;
    const embeddings = texts.map((t) => {
      const v = new Float32Array(dim);
      if (options.role === "document") v[this.docAxis.get(t)!] = 1;
      else for (const a of this.queryAxes.get(t)!) v[a] = this.sign;
      return v;
    });
    return { embeddings, truncated: 0 };
  }

  describe() {
    return { model: String(this.cacheKey.model) };
  }
}

const passkeyTask = selectTasks("longembed", ["passkey"])[0]!;

describe("end to end on generated passkey data", () => {
  const data = generatePasskey({ seed: 5, contextLengths: [64, 128], docsPerLength: 5, queriesPerLength: 3 });

  it("an oracle retriever scores 1.0", async () => {
    const system: System = { kind: "dense", name: "oracle", encoder: new OracleEncoder(data, 1) };
    const result = await runRetrievalTask(data, passkeyTask.mainMetric, system, "Retrieve text based on user query:");
    expect(result.mainScore).toBe(1);
    for (const s of result.splits) expect(s.scores).toMatchObject({ ndcg_at_1: 1, ndcg_at_10: 1, mrr_at_10: 1, recall_at_1: 1 });
  });

  // Reversed, each relevant document ranks 5th of 5: nDCG@1 = 0, nDCG@10 = 1/log2(6) = 0.386853, MRR@10 = 1/5,
  // recall@3 = 0, recall@5 = 1, P@5 = 1/5.
  it("a reversed retriever gets the hand-computed values", async () => {
    const system: System = { kind: "dense", name: "reversed", encoder: new OracleEncoder(data, -1) };
    const result = await runRetrievalTask(data, passkeyTask.mainMetric, system, "");
    expect(result.mainScore).toBe(0);
    for (const s of result.splits) {
      expect(s.scores.ndcg_at_10).toBeCloseTo(1 / Math.log2(6), 6);
      expect(s.scores.mrr_at_10).toBeCloseTo(0.2, 6);
      expect(s.scores.recall_at_3).toBe(0);
      expect(s.scores.recall_at_5).toBe(1);
      expect(s.scores.precision_at_5).toBeCloseTo(0.2, 6);
    }
  });
});

describe("BRIGHT exclusions", () => {
  const root = join(FIXTURES, "xlangai/BRIGHT");
  const biology = selectTasks("bright", ["biology"])[0]!;

  for (const system of [bm25System(), { kind: "dense", name: "hashing", encoder: new HashingEncoder({ dim: 64 }) } as System]) {
    it(`${system.name}: excluded ids are removed from the ranking, not scored low`, async () => {
      const data = await loadBrightTask({ root, source: { kind: "local", dataset: "xlangai/BRIGHT", revision: null } }, biology);
      const split = data.splits[0]!;
      const withExclusion = await runRetrievalTask(data, "ndcg_at_10", system, "");
      const run = withExclusion.splits[0]!.run;
      expect(Object.keys(run["0"]!)).not.toContain("bio_duplicate_post.txt");
      if (system.kind === "dense") {
        // Dense search ranks every document but the excluded one; "N/A" excludes nothing.
        expect(Object.keys(run["0"]!)).toHaveLength(split.corpus.length - 1);
        expect(Object.keys(run["1"]!)).toHaveLength(split.corpus.length);
      }

      const unexcluded = await runRetrievalTask({ ...data, splits: [{ ...split, excluded: {} }] }, "ndcg_at_10", system, "");
      const full = unexcluded.splits[0]!.run;
      expect(Object.keys(full["0"]!)).toContain("bio_duplicate_post.txt");
      // Removing the excluded document from the unexcluded run gives exactly the excluded run's scores.
      const { "bio_duplicate_post.txt": _dropped, ...rest } = full["0"]!;
      expect(scoreRun(split.qrels, { ...full, "0": rest }).scores).toEqual(withExclusion.splits[0]!.scores);
    });
  }
});

describe("p-MRR on a hand-built FollowIR example", () => {
  // q1: d2 goes from relevant to not; og rank 2, changed rank 4 → 1 − (1/4)/(1/2) = 0.5.
  // q2: d5 goes from relevant to not; rank 1 in both runs → (1/1)/(1/1) − 1 = 0. Mean over queries: 0.25.
  it("averages FollowIR's rank score per query, then over queries", () => {
    const qrelsOg = { q1: { d1: 1, d2: 1, d4: 0 }, q2: { d5: 1, d6: 1 } };
    const qrelsChanged = { q1: { d1: 1, d2: 0, d4: 0 }, q2: { d5: 0, d6: 1 } };
    const og = { q1: { d1: 0.9, d2: 0.8, d3: 0.7, d4: 0.6 }, q2: { d5: 0.9, d6: 0.5 } };
    const changed = { q1: { d1: 0.9, d3: 0.8, d4: 0.7, d2: 0.6 }, q2: { d5: 0.9, d6: 0.5 } };
    const scores = scoreFollowIr(og, changed, qrelsOg, qrelsChanged);
    expect(scores.pMRR).toBeCloseTo(0.25, 10);
    expect(scores.pMRRQueries).toBe(2);
    expect(scores.og.map_at_1000).toBeCloseTo(1, 10);
  });
});

const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8")) as MtebResult;

describe("runBenchmark", () => {
  const emptyHub = () => {
    const d = tempDir();
    return { HF_HUB_CACHE: join(d, "hub"), HF_HOME: d, HF_DATASETS_CACHE: join(d, "ds") };
  };

  it("LongEmbed on generated data: report, plot, MTEB JSON, TREC runs, reproducibility; a rerun embeds nothing", async () => {
    const out = tempDir();
    const cacheDir = tempDir();
    const options = {
      benchmark: "longembed" as const,
      systems: [{ kind: "dense", name: "hashing-bow", encoder: new HashingEncoder({ dim: 64, maxLength: 20 }) } as System, bm25System()],
      outDir: out,
      load: { dataDir: tempDir(), env: emptyHub(), generator: { seed: 1, contextLengths: [64, 128], docsPerLength: 6, queriesPerLength: 3 } },
      settings: { cacheDir, batchSize: 4 },
    };
    const outcome = await runBenchmark(options);
    expect(outcome.skipped.map((s) => s.task)).toEqual(["narrativeqa", "qmsum", "summ_screen_fd", "2wikimqa"]);
    const bm25 = outcome.systems[1]!.results.find((r) => r.taskId === "passkey")!;
    expect(bm25.mainScore).toBe(1); // each query names a person only its document mentions

    const dir = join(out, "longembed");
    const report = readFileSync(join(dir, "report.md"), "utf8");
    expect(report).toMatch(/\| Passkey \| nDCG@1 \(mean over lengths\) \| 71\.0 \| 93\.8 \|/);
    expect(report).toContain("![Score against context length](context-length.svg)");
    expect(report).toMatch(/generated by dembed passkey generator \(seed 1, context lengths 64, 128 tokens at 0.75 words per token, 6 documents and 3 queries per length\)/);
    expect(readFileSync(join(dir, "context-length.svg"), "utf8")).toMatch(/<svg[\s\S]*<polyline[\s\S]*hashing-bow[\s\S]*BM25/);

    const json = readJson(join(outcome.resultDirs["hashing-bow"]!, "LEMBPasskeyRetrieval.json"));
    expect(json.task_name).toBe("LEMBPasskeyRetrieval");
    expect(Object.keys(json.scores)).toEqual(["test_64", "test_128"]);
    const entry = json.scores.test_64![0]!;
    expect(entry).toMatchObject({ hf_subset: "default", languages: ["eng-Latn"] });
    expect(entry.main_score).toBe(entry.ndcg_at_1);
    expect(json.dembed.reproducibility).toMatchObject({ system: "hashing-bow", batch_size: 4, max_length: 20, dataset: { kind: "generated", seed: 1 }, seed: 1 });
    expect(json.dembed.reproducibility.truncated_inputs).toBe(12); // every document (≥ 48 words, ≥ 30 tokens after stop words) exceeds 20 tokens; no query does
    expect(readFileSync(join(outcome.resultDirs.BM25!, "runs", "passkey_test_64.trec"), "utf8")).toMatch(/^passkey_64_q0 Q0 passkey_64_doc\d 1 \S+ BM25$/m);

    const again = await runBenchmark({ ...options, outDir: tempDir() });
    const record = again.systems[0]!.records.passkey!;
    expect(record).toMatchObject({ embedded_inputs: 0, truncated_inputs: 12, truncation_unknown: 0 });
    expect(record.cached_inputs).toBeGreaterThan(0);
  });

  it("BRIGHT and FollowIR from fixture folders, with explicit tasks", async () => {
    const out = tempDir();
    const bright = await runBenchmark({ benchmark: "bright", tasks: ["biology", "pony"], systems: [bm25System()], outDir: out, load: { dataDir: FIXTURES, env: emptyHub() } });
    const merged = readJson(join(bright.resultDirs.BM25!, "BrightRetrieval.json"));
    expect(merged.scores.standard!.map((e) => e.hf_subset)).toEqual(["biology", "pony"]);
    expect(readFileSync(bright.reportFile, "utf8")).toMatch(/\| Biology \| nDCG@10 \|/);

    const followir = await runBenchmark({
      benchmark: "followir",
      systems: [bm25System(), { kind: "dense", name: "hashing", encoder: new HashingEncoder({ dim: 64 }) }],
      outDir: out,
      load: { dataDir: FIXTURES, env: emptyHub() },
    });
    for (const task of ["Robust04InstructionRetrieval", "News21InstructionRetrieval", "Core17InstructionRetrieval"]) {
      const json = readJson(join(followir.resultDirs.hashing!, `${task}.json`));
      const entry = json.scores.test![0]!;
      expect(entry.main_score).toBe(entry["p-MRR"]);
      expect(Math.abs(entry.main_score)).toBeLessThanOrEqual(1);
    }
    expect(existsSync(join(followir.resultDirs.BM25!, "runs", "robust04_changed.trec"))).toBe(true);
    expect(readFileSync(followir.reportFile, "utf8")).toMatch(/\| Robust04 \| p-MRR \| -3\.1 \| 13\.6 \|/);
  });

  it("an explicitly requested task without data is an error naming the dataset", async () => {
    await expect(
      runBenchmark({ benchmark: "bright", tasks: ["aops"], systems: [bm25System()], outDir: tempDir(), load: { dataDir: tempDir(), env: emptyHub() } }),
    ).rejects.toThrow(/BRIGHT task "aops": dataset xlangai\/BRIGHT not found/);
  });
});
