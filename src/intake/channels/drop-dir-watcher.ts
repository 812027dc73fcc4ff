import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type AcceptedReport,
  acceptReport,
  type InboxLogger,
  type InboxRoute,
  type IntakeInboxDeps,
} from '../inbox/inbox-accept.js';

/**
 * A watched drop directory: a feed or a colleague's script puts files in it, the desk takes them.
 *
 * Convention for writers (docs/channels.md): write to `<name>.part` (or a dotfile) and rename to the final
 * name when complete; a rename within one filesystem is atomic. For writers that cannot rename, a file is
 * also taken once its size and modification time did not change between two scans at least `stableMs`
 * apart. Taken files move to `done/` after `acceptReport` returned (the evidence is durable by then), or to
 * `failed/` with a `<name>.error.txt` beside them saying why. A crash between the accept and the move leaves
 * the file in place; the next scan accepts it again, which the inbox answers as a duplicate.
 *
 * Scanning (readdir every `pollMs`) rather than fs.watch: it works the same on local disks, NFS and
 * bind mounts, and a missed event cannot strand a file.
 */

export interface DropDirOptions {
  readonly dir: string;
  /** Scan interval (default 2 s). */
  readonly pollMs?: number | undefined;
  /** Unchanged size/mtime for at least this long before a file is taken (default 1 s). */
  readonly stableMs?: number | undefined;
  readonly route?: InboxRoute | undefined;
  /** Files larger than this go to failed/ (default 1 GiB). */
  readonly maxFileBytes?: number | undefined;
  readonly logger?: InboxLogger | undefined;
  readonly onAccepted?: ((accepted: AcceptedReport, file: string) => void) | undefined;
}

export interface DropScanSummary {
  accepted: number;
  duplicates: number;
  failed: number;
  /** Files seen but not yet stable (still being written). */
  waiting: number;
}

interface Seen {
  size: number;
  mtimeMs: number;
  since: number;
}

export class DropDirWatcher {
  private readonly seen = new Map<string, Seen>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: IntakeInboxDeps,
    private readonly options: DropDirOptions,
  ) {}

  async start(): Promise<void> {
    await this.ensureDirs();
    this.stopped = false;
    const tick = (): void => {
      this.running = this.scanOnce()
        .catch((error: unknown) =>
          this.options.logger?.error(
            { error: error instanceof Error ? error.message : String(error) },
            'drop dir scan failed',
          ),
        )
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs ?? 2_000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async ensureDirs(): Promise<void> {
    for (const sub of ['done', 'failed']) await mkdir(path.join(this.options.dir, sub), { recursive: true });
  }

  /** One scan; `now` is injectable so tests need not wait for stability. */
  async scanOnce(now: number = Date.now()): Promise<DropScanSummary> {
    await this.ensureDirs();
    const summary: DropScanSummary = { accepted: 0, duplicates: 0, failed: 0, waiting: 0 };
    const stableMs = this.options.stableMs ?? 1_000;
    const entries = await readdir(this.options.dir, { withFileTypes: true });
    const present = new Set<string>();
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (!entry.isFile() || entry.name.startsWith('.') || entry.name.endsWith('.part')) continue;
      const file = path.join(this.options.dir, entry.name);
      present.add(entry.name);
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(file);
      } catch {
        continue; // vanished meanwhile
      }
      const before = this.seen.get(entry.name);
      if (!before || before.size !== info.size || before.mtimeMs !== info.mtimeMs) {
        this.seen.set(entry.name, { size: info.size, mtimeMs: info.mtimeMs, since: now });
        summary.waiting++;
        continue;
      }
      if (now - before.since < stableMs) {
        summary.waiting++;
        continue;
      }
      this.seen.delete(entry.name);
      await this.take(entry.name, info.size, summary);
    }
    for (const name of this.seen.keys()) if (!present.has(name)) this.seen.delete(name);
    return summary;
  }

  private async take(name: string, size: number, summary: DropScanSummary): Promise<void> {
    const file = path.join(this.options.dir, name);
    const max = this.options.maxFileBytes ?? 1024 * 1024 * 1024;
    try {
      if (size > max) throw new Error(`file of ${size} bytes exceeds the ${max}-byte limit`);
      const bytes = new Uint8Array(await readFile(file));
      const accepted = await acceptReport(this.deps, {
        bytes,
        channel: 'file',
        receivedAt: new Date(),
        fileName: name,
        route: this.options.route,
      });
      if (accepted.duplicate) summary.duplicates++;
      else summary.accepted++;
      this.options.onAccepted?.(accepted, name);
      await rename(file, await freeName(path.join(this.options.dir, 'done'), name));
    } catch (error) {
      summary.failed++;
      const reason = error instanceof Error ? error.message : String(error);
      this.options.logger?.warn({ file: name, error: reason }, 'drop dir file failed');
      const target = await freeName(path.join(this.options.dir, 'failed'), name);
      await rename(file, target).catch(() => undefined);
      await writeFile(`${target}.error.txt`, `${reason}\n`).catch(() => undefined);
    }
  }
}

/** `dir/name`, or `dir/<n>-name` when taken (the same file name dropped twice). */
async function freeName(dir: string, name: string): Promise<string> {
  for (let n = 0; ; n++) {
    const candidate = path.join(dir, n === 0 ? name : `${n}-${name}`);
    try {
      await stat(candidate);
    } catch {
      return candidate;
    }
  }
}
