// Horizontal bar charts as plain SVG text, written by the bench next to BENCHMARKS.md (no chart
// library: the output must be reproducible on a fresh clone with no extra install).
const COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const escapeXml = (text) => String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v) => (v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/**
 * @param {object} chart
 * @param {string} chart.title
 * @param {string} chart.unit shown after each value and on the axis
 * @param {string[]} chart.series names of the bars per row (one name: a plain bar chart)
 * @param {{ label: string, values: number[] }[]} chart.rows one value per series
 * @param {boolean} [chart.stacked] stack the series in one bar instead of one bar each
 */
export function barChart({ title, unit, series, rows, stacked = false }) {
  const labelWidth = 300;
  const plotWidth = 460;
  const barHeight = 14;
  const perRow = stacked || series.length === 1 ? barHeight + 10 : series.length * barHeight + 12;
  const top = 40;
  const legendHeight = series.length > 1 ? 22 : 0;
  const height = top + rows.length * perRow + legendHeight + 24;
  const totals = rows.map((r) => (stacked ? r.values.reduce((s, v) => s + (v || 0), 0) : Math.max(0, ...r.values.map((v) => v || 0))));
  const max = Math.max(1e-9, ...totals);
  const scale = (v) => ((v || 0) / max) * plotWidth;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plotWidth + 90}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(title)}</text>`,
  ];
  rows.forEach((row, i) => {
    const y = top + i * perRow;
    out.push(`<text x="${labelWidth - 6}" y="${y + barHeight - 3}" text-anchor="end">${escapeXml(row.label)}</text>`);
    if (stacked) {
      let x = labelWidth;
      row.values.forEach((v, s) => {
        const w = scale(v);
        if (w > 0)
          out.push(
            `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLOURS[s % COLOURS.length]}"><title>${escapeXml(series[s])}: ${fmt(v)} ${escapeXml(unit)}</title></rect>`,
          );
        x += w;
      });
      out.push(`<text x="${(x + 4).toFixed(1)}" y="${y + barHeight - 3}">${fmt(totals[i])} ${escapeXml(unit)}</text>`);
    } else {
      row.values.forEach((v, s) => {
        const yy = series.length === 1 ? y : y + s * barHeight;
        const w = scale(v);
        out.push(
          `<rect x="${labelWidth}" y="${yy}" width="${w.toFixed(1)}" height="${barHeight - 2}" fill="${COLOURS[s % COLOURS.length]}"/>`,
        );
        out.push(`<text x="${(labelWidth + w + 4).toFixed(1)}" y="${yy + barHeight - 4}">${fmt(v || 0)} ${escapeXml(unit)}</text>`);
      });
    }
  });
  if (series.length > 1) {
    let x = labelWidth;
    const y = top + rows.length * perRow + 8;
    series.forEach((name, s) => {
      out.push(`<rect x="${x}" y="${y}" width="10" height="10" fill="${COLOURS[s % COLOURS.length]}"/>`);
      out.push(`<text x="${x + 14}" y="${y + 9}">${escapeXml(name)}</text>`);
      x += 24 + name.length * 6.5;
    });
  }
  out.push('</svg>', '');
  return out.join('\n');
}
