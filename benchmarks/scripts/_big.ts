import { denseSearch } from "@dembed/retrieval";
function lcg(seed: number) { let s = seed >>> 0; return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1; }
const rv = (n: number, dim: number, seed: number, p: string) => { const r = lcg(seed); return { ids: Array.from({ length: n }, (_, i) => `${p}${i}`), vectors: Array.from({ length: n }, () => Float32Array.from({ length: dim }, r)) }; };
for (const [nq, nd, dim] of [[1000, 5000, 3584], [50, 100000, 256], [50, 10000, 896]] as const) {
  const q = rv(nq, dim, 1, "q"), d = rv(nd, dim, 2, "d");
  const t = performance.now(); denseSearch(q, d, { k: 1000 }); const s = (performance.now() - t) / 1000;
  console.log(nq, nd, dim, s.toFixed(2), "s", ((2 * nq * nd * dim) / s / 1e9).toFixed(2), "GFLOP/s");
}
