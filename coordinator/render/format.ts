/** Formats bytes as a person reads them (binary units, one decimal). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Formats a duration in seconds as e.g. "2d 3h", "4m 12s". */
export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

/** Colours only when the stream is a TTY and NO_COLOR is unset (https://no-color.org). */
export function palette(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env) {
  const on = stream.isTTY === true && (env.NO_COLOR ?? '') === '';
  const wrap = (code: number) => (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s);
  return { green: wrap(32), red: wrap(31), yellow: wrap(33), bold: wrap(1), dim: wrap(2) };
}

/** The colour functions a renderer uses. */
export type Palette = ReturnType<typeof palette>;
