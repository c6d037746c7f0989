// Hand-made SVG bar chart for bench/run.mjs (no charting dependency): one group of bars
// per scenario metric, one bar per client or server, heights in "× plain ws" with a
// dashed line at 1×, so bench/README.md can embed the picture of the latest run. The axis
// can be scaled to some series only (`scaleKeys`): a bar beyond it is cut at the top,
// marked, and its value written inside it.

const COLORS = ['#d9480f', '#868e96', '#1c7ed6', '#2f9e44', '#ae3ec9', '#f59f00', '#0c8599', '#212529', '#e64980'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A tick step giving at most ~8 gridlines up to `max`. */
function tickStep(max) {
  for (const s of [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100]) if (max / s <= 8) return s;
  return 10 ** Math.ceil(Math.log10(max / 8));
}

/**
 * @param {{ title: string, subtitle: string,
 *           groups: { label: string, values: Record<string, number|null> }[],
 *           series: { key: string, label: string }[], scaleKeys?: string[] }} spec
 *   scaleKeys: the series the axis is scaled to (all when absent).
 * @returns {string} a standalone SVG document
 */
export function renderChart({ title, subtitle, groups, series, scaleKeys }) {
  const barW = 16;
  const barGap = 3;
  const groupGap = 26;
  const groupW = series.length * (barW + barGap) - barGap;
  const left = 58;
  const right = 20;
  const top = 96;
  const plotH = 300;
  const bottom = 58;
  const width = Math.max(760, left + right + groups.length * (groupW + groupGap) + groupGap);
  const height = top + plotH + bottom;

  const scaled = (key) => !scaleKeys || scaleKeys.includes(key);
  const all = groups.flatMap((g) => Object.entries(g.values).filter(([k]) => scaled(k)).map(([, v]) => v)).filter((v) => Number.isFinite(v));
  const maxV = Math.max(1.2, ...all) * 1.12; // headroom for the value labels
  const step = tickStep(maxV);
  const yMax = Math.ceil(maxV / step) * step;
  const y = (v) => top + plotH - (v / yMax) * plotH;

  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="24" font-size="15" font-weight="bold" fill="#212529">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="43" font-size="11" fill="#495057">${esc(subtitle)}</text>`);
  out.push(`<text x="${left}" y="59" font-size="11" fill="#495057">${esc('Bars: subject ÷ ws for rates; ws ÷ subject for latency, open time and RSS. Dashed line: ws = 1×.')}</text>`);

  // Legend.
  let lx = left;
  series.forEach((s, i) => {
    out.push(`<rect x="${lx}" y="70" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    out.push(`<text x="${lx + 17}" y="80" font-size="12" fill="#212529">${esc(s.label)}</text>`);
    lx += 34 + s.label.length * 7;
  });

  // Grid and axis.
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" x2="${width - right}" y1="${yy}" y2="${yy}" stroke="#e9ecef"/>`);
    out.push(`<text x="${left - 6}" y="${(+yy + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#495057">${+v.toFixed(2)}×</text>`);
  }
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#adb5bd"/>`);
  out.push(`<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#adb5bd"/>`);

  // Bars.
  groups.forEach((g, gi) => {
    const gx = left + groupGap + gi * (groupW + groupGap);
    series.forEach((s, si) => {
      const v = g.values[s.key];
      const x = gx + si * (barW + barGap);
      if (!Number.isFinite(v)) {
        out.push(`<text x="${x + barW / 2}" y="${top + plotH - 4}" font-size="9" text-anchor="middle" fill="#adb5bd">–</text>`);
        return;
      }
      const cut = v > yMax;
      const yy = y(Math.min(v, yMax));
      out.push(`<rect x="${x}" y="${yy.toFixed(1)}" width="${barW}" height="${(top + plotH - yy).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(`${g.label} — ${s.label}: ${v.toFixed(2)}×`)}</title></rect>`);
      if (cut) {
        // Beyond the axis: a break mark near the top, the value written down the bar.
        for (const dy of [8, 12]) out.push(`<line x1="${x - 1}" x2="${x + barW + 1}" y1="${top + dy + 2}" y2="${top + dy - 2}" stroke="#ffffff" stroke-width="2"/>`);
        out.push(`<text transform="translate(${x + barW / 2 - 3},${top + 18}) rotate(90)" font-size="10" fill="#ffffff">${v.toFixed(1)}</text>`);
        return;
      }
      const ly = yy - 4;
      out.push(`<text transform="translate(${x + barW / 2 + 3},${ly.toFixed(1)}) rotate(-90)" font-size="10" fill="#212529">${v.toFixed(2)}</text>`);
    });
    out.push(`<text x="${gx + groupW / 2}" y="${top + plotH + 18}" font-size="11" text-anchor="middle" fill="#212529">${esc(g.label)}</text>`);
  });

  // The ws baseline, drawn last so it stays visible across the bars.
  const y1 = y(1).toFixed(1);
  out.push(`<line x1="${left}" x2="${width - right}" y1="${y1}" y2="${y1}" stroke="#212529" stroke-dasharray="5,4" stroke-width="1.2"/>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
