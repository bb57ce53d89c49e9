/**
 * Progress on stderr. On a TTY: a one-line bar redrawn in place, cut to the terminal's width by
 * whole fields (never mid-number). Elsewhere (logs, CI, `2> file`): the same line as a plain log
 * line every `logEveryMs` (10 s), so a long epoch shows it is alive while short jobs stay silent.
 * Generic: a fraction done (for the bar and the ETA) plus any counters, shown as rates.
 *
 *   [########............]  41% 1.2k docs/s 310k tokens/s ETA 0:07
 */

export interface ProgressState {
  /** Work done so far, in any unit, against `total` (bar and ETA need both). */
  done?: number;
  total?: number;
  /** Running totals shown as per-second rates, e.g. `{ docs: 1200, tokens: 310000 }`. */
  counters?: Record<string, number>;
  /**
   * Extra fields at the end of the line, most important first (e.g. `['epoch 2/4', 'loss 4.21']`);
   * where the line is too wide, the last fields are left out whole.
   */
  text?: string | readonly string[];
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  /** false: nothing at all. Default: a bar on a TTY, a log line every `logEveryMs` elsewhere. */
  enabled?: boolean;
  /** Without a TTY, print the line this often (default 10 s; the first one after as long). */
  logEveryMs?: number;
  /** Shown before the bar. */
  label?: string;
  /** Redraw at most this often. */
  intervalMs?: number;
}

const BAR_WIDTH = 20;
/** How often a non-TTY stream gets a progress line. */
export const LOG_EVERY_MS = 10_000;

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

/** The fields of `parts` (joined by spaces) that fit in `width` columns, whole fields only. */
export function fitFields(parts: readonly string[], width: number): string {
  let line = '';
  for (const part of parts) {
    const next = line === '' ? part : `${line} ${part}`;
    if (next.length > width) break;
    line = next;
  }
  return line;
}

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  /** `bar`: redrawn in place on a TTY; `lines`: a log line every `logEveryMs`; `off`: nothing. */
  readonly mode: 'bar' | 'lines' | 'off';
  private readonly label: string;
  private readonly intervalMs: number;
  private readonly started = performance.now();
  private lastDraw: number;
  private drawn = false;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    this.mode = options.enabled === false ? 'off' : this.stream.isTTY ? 'bar' : 'lines';
    this.label = options.label ?? '';
    this.intervalMs =
      this.mode === 'bar' ? (options.intervalMs ?? 100) : (options.logEveryMs ?? LOG_EVERY_MS);
    // A log line only after a whole interval: jobs shorter than that print none.
    this.lastDraw = this.mode === 'lines' ? this.started : -Infinity;
  }

  get enabled(): boolean {
    return this.mode !== 'off';
  }

  /** The line for a state after `seconds` (exposed for tests). */
  render(state: ProgressState, seconds: number, width = Infinity): string {
    return fitFields(this.fields(state, seconds), width);
  }

  private fields(state: ProgressState, seconds: number): string[] {
    const parts: string[] = [];
    const fraction =
      state.total && state.done !== undefined ? Math.min(1, state.done / state.total) : undefined;
    if (fraction !== undefined) {
      const filled = Math.round(fraction * BAR_WIDTH);
      parts.push(
        `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%`,
      );
    }
    for (const [name, count] of Object.entries(state.counters ?? {})) {
      parts.push(seconds > 0 ? `${shortNumber(count / seconds)} ${name}/s` : `${shortNumber(count)} ${name}`);
    }
    if (fraction !== undefined && fraction > 0 && fraction < 1)
      parts.push(`ETA ${clock((seconds * (1 - fraction)) / fraction)}`);
    if (typeof state.text === 'string') parts.push(state.text);
    else if (state.text) parts.push(...state.text);
    return this.label ? [this.label, ...parts] : parts;
  }

  update(state: ProgressState): void {
    if (this.mode === 'off') return;
    const now = performance.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const seconds = (now - this.started) / 1000;
    if (this.mode === 'lines') {
      this.stream.write(`${this.render(state, seconds)} (${clock(seconds)})\n`);
      return;
    }
    // One column short of the width: writing the last column wraps on some terminals.
    this.stream.write(`\r${this.render(state, seconds, (this.stream.columns ?? 100) - 1)}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar so the next output starts on a clean line. */
  finish(): void {
    if (this.mode === 'bar' && this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
