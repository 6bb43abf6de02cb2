import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { runBenchmark } from "../src/bench.js";
import { HashingEncoder } from "../src/encoder.js";
import { GENERATED, MTEB_VERSION, mtebRetrievalResult } from "../src/output/mteb.js";
import { bm25System, type System } from "../src/systems.js";
import { cleanTempDirs, FIXTURES, tempDir } from "./helpers.js";

afterEach(cleanTempDirs);

// The result-file fields MTEB requires, mirrored from its pydantic models. Extra keys are ignored by both (pydantic's
// default), so dembed's `dembed` block may stay.
const ScoreEntry = z.looseObject({ main_score: z.unknown().refine((v) => v !== undefined, "main_score is required"), hf_subset: z.string(), languages: z.array(z.string()) });
const Scores = z.record(z.string(), z.array(ScoreEntry));

/** mteb 1.14.12, mteb/load_results/mteb_results.py: MTEBResults. */
const Result1_14_12 = z.looseObject({
  dataset_revision: z.string(),
  task_name: z.string(),
  mteb_version: z.string(),
  scores: Scores,
  evaluation_time: z.number(),
  kg_co2_emissions: z.number().nullable().optional(),
});

/** mteb 2.20.0, mteb/results/task_result.py: TaskResult. */
const Result2_20_0 = z.looseObject({
  dataset_revision: z.string(),
  task_name: z.string(),
  mteb_version: z.string().nullable(),
  scores: Scores,
  evaluation_time: z.number().nullable(),
  kg_co2_emissions: z.number().nullable().optional(),
  date: z.number().nullable().optional(),
  evaluation_phases: z.array(z.unknown()).nullable().optional(),
});

/** mteb 1.14.12, mteb/model_meta.py: fields without defaults (present, though they may be null). */
const ModelMeta1_14_12 = z.looseObject({ name: z.string().nullable(), revision: z.string().nullable(), release_date: z.string().nullable(), languages: z.array(z.string()).nullable() });

/** mteb 2.20.0, mteb/models/model_meta.py: extra="forbid"; every field without a default, and the defaulted ones dembed writes. */
const ModelMeta2_20_0 = z.strictObject({
  loader: z.null(),
  name: z.string().nullable(),
  revision: z.string().nullable(),
  release_date: z.string().nullable(),
  languages: z.array(z.string()).nullable(),
  n_parameters: z.number().int().nullable(),
  memory_usage_mb: z.number().nullable(),
  max_tokens: z.number().nullable(),
  embed_dim: z.number().int().nullable(),
  license: z.string().nullable(),
  open_weights: z.boolean().nullable(),
  public_training_code: z.string().nullable(),
  public_training_data: z.union([z.string(), z.boolean()]).nullable(),
  framework: z.array(z.enum(["Sentence Transformers", "PyTorch", "ONNX", "safetensors", "Transformers"])),
  similarity_fn_name: z.enum(["cosine", "dot", "MaxSim", "euclidean", "manhattan", "custom"]).nullable(),
  use_instructions: z.boolean().nullable(),
  training_datasets: z.array(z.string()).nullable(),
  adapted_from: z.string().nullable().optional(),
  modalities: z.array(z.literal("text")).optional(),
});

/** MTEB loads results older than 1.11.0 through a converter and rewrites some below 1.12.48: dembed must be newer. */
const atLeast = (version: string, floor: string) => {
  const [a, b] = [version, floor].map((v) => v.split(".").map(Number));
  const i = a!.findIndex((x, k) => x !== b![k]);
  return i === -1 || a![i]! > b![i]!;
};

/** Every file under `<root>/<model>/<revision>/`, as MTEB's result cache globs them. */
function revisionFolders(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((m) => m.isDirectory())
    .flatMap((m) => readdirSync(join(root, m.name)).map((r) => join(root, m.name, r)));
}

const read = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> & { dembed: Record<string, unknown> };

describe("MTEB result files", () => {
  const emptyHub = () => {
    const d = tempDir();
    return { HF_HUB_CACHE: join(d, "hub"), HF_HOME: d };
  };
  const systems: System[] = [bm25System(), { kind: "dense", name: "org/hashing bow", encoder: new HashingEncoder({ dim: 32 }) }];

  it("validate against MTEB 1.14.12's and 2.20.0's models, in <benchmark>/<model>/<revision>/ with model_meta.json", async () => {
    const out = tempDir();
    const load = { dataDir: FIXTURES, env: emptyHub(), synthetic: "always" as const, generator: { seed: 3, contextLengths: [64], docsPerLength: 4, queriesPerLength: 2 } };
    await runBenchmark({ benchmark: "longembed", tasks: ["passkey", "narrativeqa"], systems, outDir: out, load });
    await runBenchmark({ benchmark: "bright", tasks: ["biology"], systems, outDir: out, load });
    await runBenchmark({ benchmark: "followir", tasks: ["core17"], systems, outDir: out, load });

    expect(revisionFolders(join(out, "longembed")).map((f) => f.slice(out.length + 1)).sort()).toEqual([
      "longembed/BM25/no_revision_available",
      "longembed/org__hashing_bow/no_revision_available",
    ]);
    let results = 0;
    for (const benchmark of ["longembed", "bright", "followir"]) {
      for (const folder of revisionFolders(join(out, benchmark))) {
        const meta = read(join(folder, "model_meta.json"));
        ModelMeta1_14_12.parse(meta);
        ModelMeta2_20_0.parse(meta);
        expect(JSON.parse(readFileSync(join(folder, "reproducibility.dembed"), "utf8"))).toEqual(expect.any(Object));
        for (const file of readdirSync(folder).filter((f) => f.endsWith(".json") && f !== "model_meta.json")) {
          const json = read(join(folder, file));
          Result1_14_12.parse(json);
          Result2_20_0.parse(json);
          expect(json.task_name).toBe(file.replace(/\.json$/, ""));
          expect(atLeast(json.mteb_version as string, "1.12.48")).toBe(true);
          results++;
        }
      }
    }
    expect(results).toBe(2 * 4); // per system: LEMBPasskeyRetrieval, LEMBNarrativeQARetrieval, BrightRetrieval, Core17InstructionRetrieval
    expect(read(join(out, "longembed/org__hashing_bow/no_revision_available/model_meta.json"))).toMatchObject({ name: "org/hashing bow", revision: "no_revision_available", embed_dim: 32 });
  });

  it("dataset_revision: MTEB's revision for generated passkey, the revision read for real data, never a description", async () => {
    const out = tempDir();
    const load = { dataDir: FIXTURES, env: emptyHub(), synthetic: "always" as const, generator: { seed: 3, contextLengths: [64], docsPerLength: 4, queriesPerLength: 2 } };
    const outcome = await runBenchmark({ benchmark: "longembed", tasks: ["passkey", "narrativeqa"], systems: [bm25System()], outDir: out, load });
    const folder = outcome.resultDirs.BM25!;
    const passkey = read(join(folder, "LEMBPasskeyRetrieval.json"));
    expect(passkey).toMatchObject({ mteb_version: MTEB_VERSION, dataset_revision: "6e346642246bfb4928c560ee08640dc84d074e8c" });
    expect(passkey.dembed.generated_data).toMatch(/^dembed passkey generator, seed 3; context lengths 64 tokens/);
    // The fixture folder has no REVISION file: the revision read is unknown, and the record says it was not checked.
    const narrativeqa = read(join(folder, "LEMBNarrativeQARetrieval.json"));
    expect(narrativeqa).toMatchObject({ dataset_revision: "unknown", dembed: { generated_data: null, reproducibility: { revision_policy: "unverified" } } });
    expect(existsSync(join(folder, "runs", "passkey.trec"))).toBe(true);

    // A generated task MTEB does not have says so.
    const record = (passkey.dembed as { reproducibility: Parameters<typeof mtebRetrievalResult>[0]["record"] }).reproducibility;
    expect(mtebRetrievalResult({ taskName: "X", system: "BM25", record, mtebRevision: null }, [], () => "default").dataset_revision).toBe(GENERATED);
  });
});
