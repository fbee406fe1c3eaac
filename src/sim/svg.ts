/**
 * Hand-written SVG plots of a simulation report (no plotting package): the hop histogram,
 * lookup success over time, and the ring with each peer coloured by its region.
 */

const WIDTH = 640;
const HEIGHT = 400;
const MARGIN = { left: 60, right: 20, top: 40, bottom: 50 };
const FONT = 'font-family="sans-serif" font-size="12"';
/** Colours for regions (colour-blind friendly Okabe-Ito palette, then greys). */
export const REGION_COLOURS = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#000000'];

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 2 : 1);
}

function frame(title: string, body: string, xLabel: string, yLabel: string): string {
  const h = HEIGHT - MARGIN.top - MARGIN.bottom;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" ${FONT} font-size="15">${esc(title)}</text>`,
    body,
    `<text x="${MARGIN.left + (WIDTH - MARGIN.left - MARGIN.right) / 2}" y="${HEIGHT - 10}" text-anchor="middle" ${FONT}>${esc(xLabel)}</text>`,
    `<text x="16" y="${MARGIN.top + h / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 16 ${MARGIN.top + h / 2})">${esc(yLabel)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

/** Axis lines with `ticks` labelled y values from yMin to yMax. */
function axes(yMin: number, yMax: number, ticks: number, yFmt: (v: number) => string): string {
  const x0 = MARGIN.left;
  const x1 = WIDTH - MARGIN.right;
  const y0 = HEIGHT - MARGIN.bottom;
  const y1 = MARGIN.top;
  const out = [`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" stroke="black"/>`, `<line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" stroke="black"/>`];
  for (let i = 0; i <= ticks; i++) {
    const v = yMin + ((yMax - yMin) * i) / ticks;
    const y = y0 - ((y0 - y1) * i) / ticks;
    out.push(`<line x1="${x0 - 4}" y1="${y}" x2="${x1}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" ${FONT}>${esc(yFmt(v))}</text>`);
  }
  return out.join('\n');
}

/** Bars of the number of lookups per hop count. */
export function hopHistogramSvg(histogram: readonly number[], title = 'Lookup hops'): string {
  const total = histogram.reduce((a, b) => a + b, 0);
  const bins = Math.max(1, histogram.length);
  const max = Math.max(1, ...histogram);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const bw = plotW / bins;
  const parts = [axes(0, max, 5, (v) => fmt(Math.round(v)))];
  histogram.forEach((count, hops) => {
    const h = (count / max) * plotH;
    const x = MARGIN.left + hops * bw;
    const y = HEIGHT - MARGIN.bottom - h;
    parts.push(`<rect x="${(x + 2).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, bw - 4).toFixed(1)}" height="${h.toFixed(1)}" fill="#0072B2"><title>${hops} hops: ${count}</title></rect>`);
    parts.push(`<text x="${(x + bw / 2).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" ${FONT}>${hops}</text>`);
  });
  return frame(`${title} (${total} lookups)`, parts.join('\n'), 'overlay hops', 'lookups');
}

/** A line of success rate per time window; `marks` are vertical lines (e.g. the failure instant). */
export function successOverTimeSvg(series: readonly { t_s: number; rate: number; lookups: number }[], title = 'Lookup success over time', marks: { t_s: number; label: string }[] = []): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const tMax = Math.max(1, ...series.map((s) => s.t_s), ...marks.map((m) => m.t_s));
  const minRate = Math.min(0.99, ...series.map((s) => s.rate));
  const yMin = Math.max(0, Math.floor(minRate * 100) / 100 - 0.01);
  const x = (t: number): number => MARGIN.left + (t / tMax) * plotW;
  const y = (r: number): number => HEIGHT - MARGIN.bottom - ((r - yMin) / (1 - yMin)) * plotH;
  const parts = [axes(yMin, 1, 5, (v) => `${(v * 100).toFixed(1)}%`)];
  for (let i = 0; i <= 5; i++) {
    const t = (tMax * i) / 5;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle" ${FONT}>${fmt(Math.round(t))}</text>`);
  }
  if (series.length > 0) {
    const pts = series.map((s) => `${x(s.t_s).toFixed(1)},${y(s.rate).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="#009E73" stroke-width="2"/>`);
    for (const s of series) parts.push(`<circle cx="${x(s.t_s).toFixed(1)}" cy="${y(s.rate).toFixed(1)}" r="2.5" fill="#009E73"><title>t=${s.t_s}s ${(s.rate * 100).toFixed(2)}% of ${s.lookups}</title></circle>`);
  }
  for (const m of marks) {
    parts.push(`<line x1="${x(m.t_s).toFixed(1)}" y1="${MARGIN.top}" x2="${x(m.t_s).toFixed(1)}" y2="${HEIGHT - MARGIN.bottom}" stroke="#D55E00" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(x(m.t_s) + 4).toFixed(1)}" y="${MARGIN.top + 12}" ${FONT} fill="#D55E00">${esc(m.label)}</text>`);
  }
  return frame(title, parts.join('\n'), 'virtual time (s)', 'lookups answered');
}

/**
 * The identifier ring: each peer a dot at angle 2π·(Node-ID / 2^128), coloured by region.
 * `positions` are [fraction of the ring, region].
 */
export function ringSvg(positions: readonly [number, number][], regions: number, title = 'Peers on the ring, coloured by region'): string {
  const size = 560;
  const cx = size / 2;
  const cy = size / 2 + 14;
  const r = size / 2 - 50;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 40}" viewBox="0 0 ${size} ${size + 40}">`,
    `<rect width="${size}" height="${size + 40}" fill="white"/>`,
    `<text x="${cx}" y="20" text-anchor="middle" ${FONT} font-size="15">${esc(`${title} (${positions.length} peers)`)}</text>`,
    `<circle cx="${cx}" cy="${cy}" r="${r}" fill="none" stroke="#bbb"/>`,
    `<text x="${cx}" y="${cy - r - 8}" text-anchor="middle" ${FONT}>0</text>`,
  ];
  const dot = positions.length > 2000 ? 1.2 : positions.length > 500 ? 2 : 3;
  for (const [f, region] of positions) {
    const a = 2 * Math.PI * f - Math.PI / 2;
    // Regions on slightly different radii so overlapping clusters stay visible.
    const rr = r - 6 * (region % 4);
    parts.push(`<circle cx="${(cx + rr * Math.cos(a)).toFixed(1)}" cy="${(cy + rr * Math.sin(a)).toFixed(1)}" r="${dot}" fill="${REGION_COLOURS[region % REGION_COLOURS.length]}"/>`);
  }
  for (let i = 0; i < regions; i++) {
    const y = size + 20 - 16 * Math.floor(i / 4);
    const x = 20 + (i % 4) * 130;
    parts.push(`<circle cx="${x}" cy="${y - 4}" r="5" fill="${REGION_COLOURS[i % REGION_COLOURS.length]}"/>`);
    parts.push(`<text x="${x + 10}" y="${y}" ${FONT}>region ${i}</text>`);
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}
