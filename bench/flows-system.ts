/**
 * What the flows benchmark reads from and sets in the kernel: socket drop counters (/proc/net/udp),
 * socket receive buffers (`ss`), a process's CPU time (/proc/<pid>/stat) and the net.core socket buffer
 * sysctls, raised for a run and restored after.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** Kernel drop counter of the UDP socket bound to `port` on 127.0.0.1 (/proc/net/udp); NaN when none. */
export async function udpDrops(port: number): Promise<number> {
  const hex = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const text = await readFile('/proc/net/udp', 'utf8');
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === hex) return Number(cols[cols.length - 1]);
  }
  return Number.NaN;
}

/** The receive buffer (skmem rb) `ss` reports for the UDP socket on 127.0.0.1:port. */
export function socketBuffer(port: number): number | null {
  const out = spawnSync('ss', ['-uanm', 'src', `127.0.0.1:${port}`], { encoding: 'utf8' }).stdout ?? '';
  const m = /rb(\d+)/.exec(out);
  return m ? Number(m[1]) : null;
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat; NaN when it is gone. */
export function cpuSecondsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return Number.NaN;
  }
}

/** net.core sysctls set for a run, each undone in reverse order (also from exit and signal handlers). */
export class CoreSysctls {
  private readonly undo: Array<() => void> = [];

  constructor(private readonly log: (line: string) => void) {}

  static path(name: string): string {
    return `/proc/sys/net/core/${name}`;
  }

  read(name: string): number {
    return Number(readFileSync(CoreSysctls.path(name), 'utf8').trim());
  }

  set(name: string, value: number): void {
    const old = this.read(name);
    writeFileSync(CoreSysctls.path(name), `${value}\n`);
    this.log(`sysctl: net.core.${name} ${old} → ${this.read(name)}`);
    this.undo.push(() => {
      writeFileSync(CoreSysctls.path(name), `${old}\n`);
      this.log(`sysctl: net.core.${name} restored to ${this.read(name)}`);
    });
  }

  /** Undo the last `set` only. */
  restoreLast(): void {
    this.undo.pop()?.();
  }

  restoreAll(): void {
    while (this.undo.length > 0) this.undo.pop()!();
  }
}
