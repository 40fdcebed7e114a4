// `levee stats` output: a plain text table, or one HTML page with an inline SVG chart (no scripts,
// no external files). Everything from the log is escaped: reasons are client-controlled text.
import type { Summary } from './summary';

const pct = (n: number, total: number) => (total ? ((100 * n) / total).toFixed(1) : '0.0');

export function renderText(s: Summary, topReasons = 5): string {
  const width = Math.max(7, ...s.byCode.map(([c]) => c.length));
  const out = [`${'OUTCOME'.padEnd(width)}  ${'COUNT'.padStart(8)}  ${'%'.padStart(6)}`];
  for (const [code, n] of s.byCode) {
    out.push(`${code.padEnd(width)}  ${String(n).padStart(8)}  ${pct(n, s.total).padStart(6)}`);
    for (const [reason, rn] of (s.reasons.get(code) ?? []).slice(0, topReasons)) {
      out.push(`  ${reason.slice(0, 70).padEnd(width - 2)}  ${String(rn).padStart(8)}`);
    }
  }
  out.push(`${'TOTAL'.padEnd(width)}  ${String(s.total).padStart(8)}`);
  if (s.untimed) out.push(`(${s.untimed} line(s) without a time were outside any window and not counted)`);
  return out.join('\n') + '\n';
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PALETTE = ['#2e7d32', '#c62828', '#ef6c00', '#6a1b9a', '#1565c0', '#00838f', '#ad1457', '#4e342e'];

/** Stacked bars, one per time bucket, one colour per outcome (ALLOWED first when present). */
export function renderSvg(s: Summary, width = 720, height = 240): string {
  if (!s.buckets.length) return '';
  const codes = s.byCode.map(([c]) => c);
  const colour = (c: string) => PALETTE[codes.indexOf(c) % PALETTE.length]!;
  const max = Math.max(1, ...s.buckets.map((b) => [...b.counts.values()].reduce((a, n) => a + n, 0)));
  const barW = width / s.buckets.length;
  const parts: string[] = [];
  s.buckets.forEach((b, i) => {
    let y = height;
    for (const code of codes) {
      const n = b.counts.get(code) ?? 0;
      if (!n) continue;
      const h = (n / max) * (height - 10);
      y -= h;
      parts.push(
        `<rect x="${(i * barW + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" ` +
          `height="${h.toFixed(1)}" fill="${colour(code)}"><title>${escapeHtml(code)}: ${n} ` +
          `(${escapeHtml(b.start.toISOString())})</title></rect>`,
      );
    }
  });
  const legend = codes
    .map(
      (c, i) =>
        `<text x="${8 + (i % 4) * 180}" y="${height + 20 + Math.floor(i / 4) * 16}" fill="${colour(c)}">■ ${escapeHtml(c)}</text>`,
    )
    .join('');
  const legendRows = Math.ceil(codes.length / 4);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + 12 + legendRows * 16}" ` +
    `font-family="sans-serif" font-size="12" role="img" aria-label="connections over time by outcome">` +
    parts.join('') +
    legend +
    '</svg>'
  );
}

export function renderHtml(s: Summary, title: string, topReasons = 5): string {
  const rows = s.byCode
    .map(([code, n]) => {
      const reasons = (s.reasons.get(code) ?? [])
        .slice(0, topReasons)
        .map(([r, rn]) => `${escapeHtml(r)} (${rn})`)
        .join('<br>');
      return `<tr><td>${escapeHtml(code)}</td><td>${n}</td><td>${pct(n, s.total)}</td><td>${reasons}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${renderSvg(s)}
<table><tr><th>Outcome</th><th>Count</th><th>%</th><th>Top reasons</th></tr>
${rows}
<tr><th>Total</th><th>${s.total}</th><th></th><th></th></tr></table>
${s.untimed ? `<p>${s.untimed} line(s) without a time were not counted.</p>` : ''}
</body></html>
`;
}
