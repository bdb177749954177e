import type { RocPoint } from './verification.js';

/** An ROC plot (TAR against FAR, log-scaled FAR from 1e-4 to 1) as a standalone SVG document. */
export function rocSvg(curves: { label: string; roc: RocPoint[] }[], title = 'ROC'): string {
  const W = 640;
  const H = 480;
  const m = { l: 64, r: 20, t: 40, b: 56 };
  const minExp = -4;
  const x = (far: number): number => m.l + ((Math.log10(Math.max(far, 10 ** minExp)) - minExp) / -minExp) * (W - m.l - m.r);
  const y = (tar: number): number => H - m.b - tar * (H - m.t - m.b);
  const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e'];
  const grid: string[] = [];
  for (let e = minExp; e <= 0; e++) {
    grid.push(`<line x1="${x(10 ** e)}" y1="${m.t}" x2="${x(10 ** e)}" y2="${H - m.b}" stroke="#ddd"/>`);
    grid.push(`<text x="${x(10 ** e)}" y="${H - m.b + 18}" text-anchor="middle" font-size="12">1e${e}</text>`);
  }
  for (let t = 0; t <= 10; t += 2) {
    grid.push(`<line x1="${m.l}" y1="${y(t / 10)}" x2="${W - m.r}" y2="${y(t / 10)}" stroke="#ddd"/>`);
    grid.push(`<text x="${m.l - 8}" y="${y(t / 10) + 4}" text-anchor="end" font-size="12">${(t / 10).toFixed(1)}</text>`);
  }
  const paths = curves.map((c, k) => {
    const d = c.roc.map((p, i) => `${i ? 'L' : 'M'}${x(p.far).toFixed(1)},${y(p.tar).toFixed(1)}`).join('');
    return `<path d="${d}" fill="none" stroke="${colours[k % colours.length]}" stroke-width="2"/>` +
      `<text x="${W - m.r - 8}" y="${H - m.b - 12 - 18 * k}" text-anchor="end" font-size="13" fill="${colours[k % colours.length]}">${escapeXml(c.label)}</text>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
${grid.join('\n')}
<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${H - m.t - m.b}" fill="none" stroke="#333"/>
${paths.join('\n')}
<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${escapeXml(title)}</text>
<text x="${W / 2}" y="${H - 14}" text-anchor="middle" font-size="13">false accept rate</text>
<text x="18" y="${H / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${H / 2})">true accept rate</text>
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
