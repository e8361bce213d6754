/**
 * The benchmark's pictures, as plain SVG text (no dependency): the latency distribution of
 * SyncHub against the peer, requests per delivery by devices per user and by burst, and where a
 * delivery's time goes, hop by hop. `npm run bench` writes them next to its JSON.
 */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"';
const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** An SVG document; `title` is its text alternative (screen readers, and Biome's a11y lint of docs/). */
const svg = (width: number, height: number, title: string, body: string[]) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>\n<title>${escapeXml(title)}</title>\n<rect width="100%" height="100%" fill="white"/>\n${body.join('\n')}\n</svg>\n`;
const text = (x: number, y: number, content: string, extra = '') =>
  `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${escapeXml(content)}</text>`;
const short = (value: number) =>
  value >= 1000 ? `${Number((value / 1000).toPrecision(3))} s` : `${Number(value.toPrecision(3))} ms`;

export interface Distribution {
  readonly label: string;
  /** Latency (ms) at each of `points` percentiles. */
  readonly values: readonly number[];
}

/** Cumulative latency distributions on a logarithmic time axis: lower and further left is better. */
export const latencyChart = (
  title: string,
  points: readonly number[],
  series: readonly Distribution[],
): string => {
  const [width, height, left, right, top, bottom] = [720, 360, 60, 170, 36, 44];
  const all = series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  if (all.length === 0) return svg(width, height, title, [text(20, 24, `${title}: no data`)]);
  const low = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (ms: number) =>
    left +
    ((Math.log10(Math.max(ms, low)) - Math.log10(low)) / Math.log10(high / low)) * (width - left - right);
  const y = (p: number) => top + (1 - p / 100) * (height - top - bottom);
  const body = [text(left, 22, title, 'font-weight="600" font-size="14"')];
  for (let decade = low; decade <= high; decade *= 10) {
    body.push(
      `<line x1="${x(decade)}" y1="${top}" x2="${x(decade)}" y2="${height - bottom}" stroke="#e5e7eb"/>`,
    );
    body.push(text(x(decade) - 14, height - bottom + 16, short(decade)));
  }
  for (const p of [0, 50, 90, 100]) {
    body.push(`<line x1="${left}" y1="${y(p)}" x2="${width - right}" y2="${y(p)}" stroke="#e5e7eb"/>`);
    body.push(text(left - 40, y(p) + 4, `p${p}`));
  }
  body.push(
    text(left + (width - left - right) / 2 - 80, height - 8, 'write → applied on the device (log scale)'),
  );
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length]!;
    const path = s.values
      .map((value, i) => (Number.isFinite(value) ? `${x(value).toFixed(1)},${y(points[i]!).toFixed(1)}` : ''))
      .filter(Boolean)
      .join(' ');
    body.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    body.push(
      `<rect x="${width - right + 14}" y="${top + index * 20}" width="12" height="12" fill="${color}"/>`,
    );
    body.push(text(width - right + 32, top + index * 20 + 10, s.label));
  });
  return svg(width, height, title, body);
};

export interface Bar {
  readonly label: string;
  readonly value: number;
}

/** Vertical bars with an optional target line (e.g. requests per delivery ≤ 0.6). */
export const barChart = (
  title: string,
  unit: string,
  groups: readonly { readonly name: string; readonly bars: readonly Bar[]; readonly target?: number }[],
): string => {
  const [width, height, left, top, bottom] = [720, 340, 60, 36, 60];
  const bars = groups.flatMap((group) => group.bars);
  const targets = groups.flatMap((group) => (group.target === undefined ? [] : [group.target]));
  const max = Math.max(...bars.map((bar) => bar.value).filter(Number.isFinite), ...targets, 0.001) * 1.15;
  const slot = (width - left - 20) / (bars.length + groups.length - 1);
  const y = (value: number) => top + (1 - value / max) * (height - top - bottom);
  const body = [text(left, 22, `${title} (${unit})`, 'font-weight="600" font-size="14"')];
  body.push(`<line x1="${left}" y1="${y(0)}" x2="${width - 20}" y2="${y(0)}" stroke="#9ca3af"/>`);
  let at = left;
  groups.forEach((group, groupIndex) => {
    const start = at;
    const color = COLORS[groupIndex % COLORS.length]!;
    for (const bar of group.bars) {
      const value = Number.isFinite(bar.value) ? bar.value : 0;
      body.push(
        `<rect x="${(at + slot * 0.15).toFixed(1)}" y="${y(value).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(y(0) - y(value)).toFixed(1)}" fill="${color}"/>`,
      );
      body.push(text(at + slot * 0.15, y(value) - 4, Number(value.toPrecision(3)).toString()));
      body.push(text(at + slot * 0.15, y(0) + 14, bar.label));
      at += slot;
    }
    body.push(text(start, height - 14, group.name, 'font-weight="600"'));
    if (group.target !== undefined) {
      body.push(
        `<line x1="${start}" y1="${y(group.target)}" x2="${at}" y2="${y(group.target)}" stroke="#111827" stroke-dasharray="5,4"/>`,
      );
      body.push(text(start + 2, y(group.target) - 4, `target ≤ ${group.target}`, 'fill="#111827"'));
    }
    at += slot;
  });
  return svg(width, height, `${title} (${unit})`, body);
};

/** Where a delivery's median time goes, hop by hop, one stacked bar per scenario. */
export const stageChart = (
  title: string,
  scenarios: readonly { readonly name: string; readonly stages: Readonly<Record<string, number>> }[],
): string => {
  const names = [...new Set(scenarios.flatMap((scenario) => Object.keys(scenario.stages)))];
  const [width, left, right, top, row] = [760, 110, 20, 36, 46];
  const height = top + scenarios.length * row + 30 + Math.ceil(names.length / 3) * 18;
  const body = [text(left, 22, title, 'font-weight="600" font-size="14"')];
  scenarios.forEach((scenario, index) => {
    const total = names.reduce((sum, name) => sum + Math.max(0, scenario.stages[name] ?? 0), 0);
    const scale = total > 0 ? (width - left - right) / total : 0;
    let at = left;
    const y = top + index * row;
    body.push(text(8, y + 18, scenario.name));
    names.forEach((name, i) => {
      const value = Math.max(0, scenario.stages[name] ?? 0);
      const w = value * scale;
      body.push(
        `<rect x="${at.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="26" fill="${COLORS[i % COLORS.length]}"/>`,
      );
      if (w > 46) body.push(text(at + 3, y + 17, short(value), 'fill="white"'));
      at += w;
    });
    body.push(text(left, y + 40, `median total ${short(total)}`, 'fill="#4b5563"'));
  });
  names.forEach((name, i) => {
    const x = left + (i % 3) * 210;
    const y = top + scenarios.length * row + 14 + Math.floor(i / 3) * 18;
    body.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[i % COLORS.length]}"/>`);
    body.push(text(x + 18, y, name));
  });
  return svg(width, height, title, body);
};
