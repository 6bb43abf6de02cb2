/** One line of a panel: a system's scores (0–100) by context length. */
export interface Series {
  name: string;
  points: Array<{ x: number; y: number }>;
}

export interface Panel {
  title: string;
  series: Series[];
}

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const PANEL_W = 380;
const PANEL_H = 260;
const MARGIN = { left: 48, right: 16, top: 34, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const lengthLabel = (n: number) => (n >= 1024 && n % 1024 === 0 ? `${n / 1024}k` : String(n));

/**
 * Score against context length as a standalone SVG: one panel per task, one line per system, x on a log2 scale.
 * Written by hand (no plotting dependency); every panel shares the legend below.
 */
export function contextLengthPlot(panels: readonly Panel[], caption: string): string {
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  const color = new Map(names.map((n, i) => [n, COLORS[i % COLORS.length] as string]));
  const legendRows = Math.ceil(names.length / 3);
  const width = Math.max(1, panels.length) * PANEL_W;
  const height = PANEL_H + 28 + legendRows * 18 + 8;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  panels.forEach((panel, p) => {
    const x0 = p * PANEL_W + MARGIN.left;
    const plotW = PANEL_W - MARGIN.left - MARGIN.right;
    const plotH = PANEL_H - MARGIN.top - MARGIN.bottom;
    const y0 = MARGIN.top;
    const xs = [...new Set(panel.series.flatMap((s) => s.points.map((pt) => pt.x)))].sort((a, b) => a - b);
    const lo = Math.log2(xs[0] ?? 1);
    const hi = Math.log2(xs[xs.length - 1] ?? 2);
    const sx = (x: number) => x0 + (hi === lo ? plotW / 2 : ((Math.log2(x) - lo) / (hi - lo)) * plotW);
    const sy = (y: number) => y0 + plotH - (Math.min(100, Math.max(0, y)) / 100) * plotH;
    out.push(`<text x="${x0 + plotW / 2}" y="${y0 - 14}" text-anchor="middle" font-size="13" font-weight="bold">${esc(panel.title)}</text>`);
    for (const t of [0, 25, 50, 75, 100]) {
      out.push(`<line x1="${x0}" x2="${x0 + plotW}" y1="${sy(t)}" y2="${sy(t)}" stroke="#e5e5e5"/>`);
      out.push(`<text x="${x0 - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
    }
    for (const x of xs) out.push(`<text x="${sx(x)}" y="${y0 + plotH + 16}" text-anchor="middle">${lengthLabel(x)}</text>`);
    out.push(`<rect x="${x0}" y="${y0}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
    out.push(`<text x="${x0 + plotW / 2}" y="${y0 + plotH + 34}" text-anchor="middle">context length (tokens)</text>`);
    out.push(`<text transform="translate(${x0 - 34} ${y0 + plotH / 2}) rotate(-90)" text-anchor="middle">score (×100)</text>`);
    for (const s of panel.series) {
      const pts = [...s.points].sort((a, b) => a.x - b.x);
      const c = color.get(s.name) as string;
      out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.map((pt) => `${sx(pt.x).toFixed(1)},${sy(pt.y).toFixed(1)}`).join(" ")}"/>`);
      for (const pt of pts) {
        out.push(`<circle cx="${sx(pt.x).toFixed(1)}" cy="${sy(pt.y).toFixed(1)}" r="3" fill="${c}"><title>${esc(s.name)}: ${fmt(pt.y)} at ${pt.x}</title></circle>`);
      }
    }
  });
  const legendY = PANEL_H + 10;
  out.push(`<text x="8" y="${legendY}" fill="#555">${esc(caption)}</text>`);
  names.forEach((name, i) => {
    const lx = 8 + (i % 3) * (width / 3);
    const ly = legendY + 18 + Math.floor(i / 3) * 18;
    out.push(`<line x1="${lx}" x2="${lx + 22}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color.get(name)}" stroke-width="3"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${esc(name)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
