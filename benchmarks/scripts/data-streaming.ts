// Streaming throughput and peak memory of @dembed/data on generated files at two sizes each.
//   cd /work/main && npx tsx benchmarks/scripts/data-streaming.ts [--jsonl-mb 100,200] [--parquet-rows 20000,40000]
// Every measurement runs in its own child process, so the peak RSS printed belongs to that run alone.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BatchSampler, openCustomJsonl, openMsmarcoInstructions, readJsonl, readParquetRows } from "@dembed/data";
import { writeSyntheticJsonl, writeSyntheticMsmarcoParquet } from "../../datasets/scripts/synthetic.js";

const BYTES_PER_JSONL_RECORD = 1220; // average writeSyntheticJsonl line, measured

interface Measure {
  task: string;
  file: string;
  fileMB: number;
  items: number;
  seconds: number;
  peakRssMB: number;
  /** Largest heap + external memory still live right after a forced GC, sampled every 0.25 s. */
  liveMB: number;
}

function sampleLiveMemory(): { stop: () => number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run the child with --expose-gc");
  let peak = 0;
  const sample = () => {
    gc();
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.heapUsed + usage.external);
  };
  const timer = setInterval(sample, 250);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return peak / 2 ** 20;
    },
  };
}

async function child(task: string, path: string): Promise<void> {
  const live = sampleLiveMemory();
  const start = performance.now();
  let items = 0;
  if (task === "baseline") {
    // node + tsx + this module loaded, nothing read: what every other row's RSS includes
  } else if (task === "readJsonl") {
    for await (const _ of readJsonl(path)) items++;
  } else if (task === "readParquetRows") {
    for await (const _ of readParquetRows(path)) items++;
  } else {
    // open (one validating pass) + one shuffled epoch of batches of 16, as a trainer would read them
    const source = task === "custom epoch" ? await openCustomJsonl(path) : await openMsmarcoInstructions(path);
    for await (const batch of new BatchSampler(source, { batchSize: 16, seed: 1 })) items += batch.length;
    await source.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const liveMB = live.stop();
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  const fileMB = task === "baseline" ? 0 : (await stat(path)).size / 2 ** 20;
  console.log(JSON.stringify({ task, file: path, fileMB, items, seconds, peakRssMB, liveMB } satisfies Measure));
}

function measure(task: string, path: string): Measure {
  const script = fileURLToPath(import.meta.url);
  const run = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", script, "--child", task, path], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`${task} on ${path} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop()!) as Measure;
}

function listArg(name: string, fallback: number[]): number[] {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]!.split(",").map(Number) : fallback;
}

async function main(): Promise<void> {
  const jsonlMB = listArg("--jsonl-mb", [100, 200]);
  const parquetRows = listArg("--parquet-rows", [20_000, 40_000]);
  const dir = await mkdtemp(join(tmpdir(), "dembed-bench-data-"));
  try {
    const results: Measure[] = [measure("baseline", "-")];
    for (const mb of jsonlMB) {
      const path = join(dir, `custom-${mb}mb.jsonl`);
      await writeSyntheticJsonl(path, Math.round((mb * 2 ** 20) / BYTES_PER_JSONL_RECORD));
      results.push(measure("readJsonl", path), measure("custom epoch", path));
    }
    for (const rows of parquetRows) {
      const path = join(dir, `msmarco-${rows}.parquet`);
      await writeSyntheticMsmarcoParquet(path, rows);
      results.push(measure("readParquetRows", path), measure("msmarco epoch", path));
    }
    console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
    console.log("live MB: heap + external memory right after a forced GC (sampled every 0.25 s); peak RSS also holds garbage V8 has not collected yet");
    console.log("task                file MB    items     seconds   items/s    MB/s   peak RSS MB   live MB");
    for (const r of results) {
      const cells = [
        r.task.padEnd(18),
        r.fileMB.toFixed(1).padStart(8),
        String(r.items).padStart(9),
        r.seconds.toFixed(2).padStart(10),
        (r.seconds > 0 ? Math.round(r.items / r.seconds) : 0).toString().padStart(9),
        (r.seconds > 0 ? r.fileMB / r.seconds : 0).toFixed(1).padStart(7),
        r.peakRssMB.toFixed(0).padStart(12),
        r.liveMB.toFixed(0).padStart(8),
      ];
      console.log(cells.join("  "));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const childAt = process.argv.indexOf("--child");
if (childAt > 0) await child(process.argv[childAt + 1]!, process.argv[childAt + 2]!);
else await main();
