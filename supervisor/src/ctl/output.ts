/** berthctl output: aligned tables by default, JSON with --format json. */
export type Format = 'table' | 'json';

export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (Buffer.isBuffer(x) ? x.toString('base64') : x), 2) + '\n');
}

export function output(format: Format, headers: string[], rows: string[][], json: unknown): void {
  if (format === 'json') printJson(json);
  else printTable(headers, rows);
}

export function labelsText(l: Record<string, string> | undefined): string {
  const e = Object.entries(l ?? {});
  return e.length ? e.map(([k, v]) => `${k}=${v}`).join(',') : '-';
}

export function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

export function tsText(ts: { seconds: number; nanos: number } | null | undefined): string {
  if (!ts) return '-';
  return new Date(Number(ts.seconds) * 1000 + Math.floor(Number(ts.nanos) / 1e6)).toISOString();
}
