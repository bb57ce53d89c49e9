/**
 * A one-line progress bar on stderr, shown only when stderr is a TTY (so logs and pipes stay
 * clean). Generic: a fraction done (for the bar and the ETA) plus any counters, shown as rates.
 *
 *   [########............]  41% 1.2k docs/s 310k tokens/s ETA 0:07
 */

export interface ProgressState {
  /** Work done so far, in any unit, against `total` (bar and ETA need both). */
  done?: number;
  total?: number;
  /** Running totals shown as per-second rates, e.g. `{ docs: 1200, tokens: 310000 }`. */
  counters?: Record<string, number>;
  /** Extra text at the end of the line (e.g. `loss 4.21`). */
  text?: string;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** Default: whether `stream` is a TTY. */
  enabled?: boolean;
  /** Shown before the bar. */
  label?: string;
  /** Redraw at most this often. */
  intervalMs?: number;
}

const BAR_WIDTH = 20;

/** 1234 → `1.2k`, 3400000 → `3.4M`: short enough for one line. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return abs >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
}

/** Seconds → `m:ss` (or `h:mm:ss`). */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  readonly enabled: boolean;
  private readonly label: string;
  private readonly intervalMs: number;
  private readonly started = performance.now();
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? Boolean(this.stream.isTTY);
    this.label = options.label ? `${options.label} ` : '';
    this.intervalMs = options.intervalMs ?? 100;
  }

  /** The line for a state after `seconds` (exposed for tests). */
  render(state: ProgressState, seconds: number): string {
    const parts: string[] = [];
    const fraction = state.total && state.done !== undefined ? Math.min(1, state.done / state.total) : undefined;
    if (fraction !== undefined) {
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(`[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`);
    }
    for (const [name, count] of Object.entries(state.counters ?? {})) {
      parts.push(seconds > 0 ? `${shortNumber(count / seconds)} ${name}/s` : `${shortNumber(count)} ${name}`);
    }
    if (fraction !== undefined && fraction > 0 && fraction < 1) parts.push(`ETA ${clock((seconds * (1 - fraction)) / fraction)}`);
    if (state.text) parts.push(state.text);
    return this.label + parts.join(' ');
  }

  update(state: ProgressState): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const line = this.render(state, (now - this.started) / 1000);
    const width = this.stream.columns ?? 100;
    this.stream.write(`\r${line.slice(0, width - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar so the next output starts on a clean line. */
  finish(): void {
    if (this.enabled && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
