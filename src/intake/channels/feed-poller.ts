import path from 'node:path';
import { z } from 'zod';
import { AupError } from '../../errors.js';
import {
  type AcceptedReport,
  acceptReport,
  type InboxLogger,
  type IntakeInboxDeps,
} from '../inbox/inbox-accept.js';

/**
 * Scheduled HTTP pulls of feed URLs (a blocklist export, a partner's JSON events, a Shadowserver-style CSV
 * published over HTTPS). Every `intervalMs` each feed is fetched with `If-None-Match` / `If-Modified-Since`
 * from the previous answer; `304` means nothing new. Each new body is accepted as one report (channel
 * `feed`); a body identical to one already taken is a duplicate in the inbox, so a restart (which forgets
 * the validators) costs one download and no double processing. Bodies over `maxBytes` are refused while
 * streaming. Failures are logged and retried at the next interval; one feed's failure never stops another.
 */

export const feedConfigSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/i, 'feed name: letters, digits, . _ -'),
  url: z.url({ protocol: /^https?$/ }),
  intervalMs: z.number().int().min(1_000).default(3_600_000),
  route: z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/)
    .optional(),
  headers: z.record(z.string(), z.string()).optional(),
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024 * 1024),
  timeoutMs: z.number().int().positive().default(60_000),
});
export type FeedConfig = z.input<typeof feedConfigSchema>;
type Feed = z.output<typeof feedConfigSchema>;

export interface FeedPullResult {
  readonly feed: string;
  readonly status: 'accepted' | 'duplicate' | 'not-modified' | 'failed';
  readonly httpStatus?: number | undefined;
  readonly accepted?: AcceptedReport | undefined;
  readonly error?: string | undefined;
}

interface Validators {
  etag?: string;
  lastModified?: string;
}

export class FeedPoller {
  private readonly feeds: Feed[];
  private readonly validators = new Map<string, Validators>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly deps: IntakeInboxDeps,
    feeds: readonly FeedConfig[],
    private readonly options: {
      logger?: InboxLogger | undefined;
      onAccepted?: ((accepted: AcceptedReport, feed: string) => void) | undefined;
    } = {},
  ) {
    this.feeds = feeds.map((f, i) => {
      const parsed = feedConfigSchema.safeParse(f);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new AupError(
          'AUP_ERR_CONFIG_INVALID',
          `feed ${i + 1} (${f.name ?? '?'}): ${issue?.path.join('.')}: ${issue?.message}`,
        );
      }
      return parsed.data;
    });
    const names = new Set<string>();
    for (const f of this.feeds) {
      if (names.has(f.name)) throw new AupError('AUP_ERR_CONFIG_INVALID', `two feeds are named ${f.name}`);
      names.add(f.name);
    }
  }

  /** Pull every feed now, then each on its own interval. */
  start(): void {
    this.stopped = false;
    for (const feed of this.feeds) {
      const tick = (): void => {
        const run = this.pull(feed.name).finally(() => {
          this.inFlight.delete(run);
          if (!this.stopped) this.timers.set(feed.name, setTimeout(tick, feed.intervalMs));
        });
        this.inFlight.add(run);
      };
      tick();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.inFlight]);
  }

  /** One conditional GET of one feed; never throws (a failure is a result). */
  async pull(name: string): Promise<FeedPullResult> {
    const feed = this.feeds.find((f) => f.name === name);
    if (!feed) throw new AupError('AUP_ERR_NOT_FOUND', `no feed named ${name}`);
    const known = this.validators.get(name) ?? {};
    try {
      const response = await fetch(feed.url, {
        headers: {
          'user-agent': 'aupdesk-feed-poller',
          ...(feed.headers ?? {}),
          ...(known.etag ? { 'if-none-match': known.etag } : {}),
          ...(known.lastModified ? { 'if-modified-since': known.lastModified } : {}),
        },
        signal: AbortSignal.timeout(feed.timeoutMs),
        redirect: 'follow',
      });
      if (response.status === 304) {
        await response.body?.cancel();
        return { feed: name, status: 'not-modified', httpStatus: 304 };
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status} ${response.statusText}`);
      }
      const bytes = await readLimited(response, feed.maxBytes);
      const accepted = await acceptReport(this.deps, {
        bytes,
        channel: 'feed',
        receivedAt: new Date(),
        fileName: fileNameOf(feed, response),
        contentType: response.headers.get('content-type') ?? undefined,
        route: feed.route,
      });
      // Remember validators only once the body is safely stored.
      this.validators.set(name, {
        ...(response.headers.get('etag') ? { etag: response.headers.get('etag')! } : {}),
        ...(response.headers.get('last-modified')
          ? { lastModified: response.headers.get('last-modified')! }
          : {}),
      });
      this.options.onAccepted?.(accepted, name);
      return {
        feed: name,
        status: accepted.duplicate ? 'duplicate' : 'accepted',
        httpStatus: response.status,
        accepted,
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger?.warn({ feed: name, error: message }, 'feed pull failed');
      return { feed: name, status: 'failed', error: message };
    }
  }
}

async function readLimited(response: Response, max: number): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await response.body?.cancel();
    throw new Error(`feed body of ${declared} bytes exceeds the ${max}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > max) {
        await reader.cancel();
        throw new Error(`feed body exceeds the ${max}-byte limit`);
      }
      chunks.push(value);
    }
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

/** The name the parsers see: the feed name plus the URL's extension (format detection uses it). */
function fileNameOf(feed: Feed, response: Response): string {
  const disposition = /filename="?([^";]+)"?/i.exec(response.headers.get('content-disposition') ?? '')?.[1];
  if (disposition) return path.basename(disposition);
  const base = path.basename(new URL(response.url || feed.url).pathname);
  return base && base !== '/' ? `${feed.name}-${base}` : feed.name;
}
