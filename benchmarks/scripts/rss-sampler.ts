// Peak resident memory split into anonymous pages (what the process allocated: ORT's tensors and packed weights, the
// JS heap) and file-backed pages (mapped files: external-data weights ORT reads in place, such as the embedding table).
// The kernel's VmHWM gives only the sum. ORT's run blocks the event loop, so a worker thread samples
// /proc/self/status, which is process-wide, every 50 ms. Linux only; elsewhere `stop()` resolves to undefined.
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";

export interface RssPeaks {
  readonly anonBytes: number;
  readonly fileBytes: number;
}

const SAMPLER = `
const { parentPort } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
let anon = 0, file = 0;
const kib = (s, field) => Number(new RegExp(field + ":\\\\s+(\\\\d+) kB").exec(s)[1]) * 1024;
const sample = () => {
  const s = readFileSync("/proc/self/status", "utf8");
  anon = Math.max(anon, kib(s, "RssAnon"));
  file = Math.max(file, kib(s, "RssFile"));
};
sample();
const timer = setInterval(sample, 50);
parentPort.on("message", () => { clearInterval(timer); sample(); parentPort.postMessage({ anonBytes: anon, fileBytes: file }); });
`;

export function startRssSampler(): { stop(): Promise<RssPeaks | undefined> } {
  if (!existsSync("/proc/self/status")) return { stop: async () => undefined };
  const worker = new Worker(SAMPLER, { eval: true });
  return {
    stop: () =>
      new Promise<RssPeaks>((resolve, reject) => {
        worker.once("message", (peaks: RssPeaks) => void worker.terminate().then(() => resolve(peaks)));
        worker.once("error", reject);
        worker.postMessage("stop");
      }),
  };
}
