/**
 * How long the calling thread has run on a CPU and how long it sat runnable waiting for one
 * (Linux `/proc/thread-self/schedstat`). On a machine shared with other work the second number
 * is the time the load took away, so benchmarks can tell a slow step from a starved one.
 * Undefined where the file does not exist (not Linux, or no schedstat).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadClock {
  /** Milliseconds this thread has spent running on a CPU. */
  onCpuMs: number;
  /** Milliseconds it has spent runnable but waiting for a CPU. */
  waitingMs: number;
}

let available = true;

export function threadClock(): ThreadClock | undefined {
  if (!available) return undefined;
  try {
    const [run, wait] = readFileSync('/proc/thread-self/schedstat', 'utf8').trim().split(/\s+/).map(Number);
    return { onCpuMs: run! / 1e6, waitingMs: wait! / 1e6 };
  } catch {
    available = false;
    return undefined;
  }
}

/**
 * The same summed over every thread of this process (`/proc/self/task/<tid>/schedstat`): the
 * native matmul pool's threads, V8's own, and the calling one (as tools/bench_torch.py counts
 * PyTorch's). A thread that exits between two readings drops out of the second.
 */
export function processClock(): ThreadClock | undefined {
  if (!available) return undefined;
  try {
    const total = { onCpuMs: 0, waitingMs: 0 };
    for (const task of readdirSync('/proc/self/task')) {
      try {
        const [run, wait] = readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8')
          .trim()
          .split(/\s+/)
          .map(Number);
        total.onCpuMs += run! / 1e6;
        total.waitingMs += wait! / 1e6;
      } catch {
        // the thread exited between listing and reading
      }
    }
    return total;
  } catch {
    available = false;
    return undefined;
  }
}

/** `after − before` per field; undefined when either is. */
export function clockDelta(
  before: ThreadClock | undefined,
  after: ThreadClock | undefined,
): ThreadClock | undefined {
  if (before === undefined || after === undefined) return undefined;
  return { onCpuMs: after.onCpuMs - before.onCpuMs, waitingMs: after.waitingMs - before.waitingMs };
}
