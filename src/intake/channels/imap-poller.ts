import { ImapFlow } from 'imapflow';
import { AupError } from '../../errors.js';
import {
  type AcceptedReport,
  acceptReport,
  type InboxLogger,
  type InboxRoute,
  type IntakeInboxDeps,
} from '../inbox/inbox-accept.js';

/**
 * IMAP pull (imapflow): for a desk whose abuse@ mailbox lives on a mail server we don't replace. Each poll
 * opens the mailbox, and for each message: fetch it, `acceptReport` (evidence fsynced, inbox row committed),
 * and only then move it to the processed folder (created if missing). A crash between the accept and the
 * move leaves the message in the mailbox; the next poll reads it again and the inbox's duplicate check
 * (same bytes, same channel) answers `duplicate` without a second row, and the move is retried.
 *
 * A message larger than `maxMessageBytes` is not fetched: it is moved to the failed folder and logged, so
 * it neither blocks the mailbox nor exhausts memory.
 */

export interface ImapPollerOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (port 993); otherwise STARTTLS is used when the server offers it. */
  readonly secure?: boolean | undefined;
  /** Accept a self-signed server certificate (a lab setup); default false. */
  readonly allowSelfSigned?: boolean | undefined;
  readonly user: string;
  readonly password: string;
  /** Mailbox to read (default INBOX). */
  readonly mailbox?: string | undefined;
  /** Where handled messages go (default `aupdesk-processed`). */
  readonly processedFolder?: string | undefined;
  /** Where messages we cannot take go (default `aupdesk-failed`). */
  readonly failedFolder?: string | undefined;
  /** The route recorded on the reports (default `abuse`). */
  readonly route?: InboxRoute | undefined;
  readonly maxMessageBytes?: number | undefined;
  /** Messages handled per poll at most (default 200). */
  readonly batch?: number | undefined;
  readonly logger?: InboxLogger | undefined;
  readonly onAccepted?: ((accepted: AcceptedReport) => void) | undefined;
}

export interface ImapPollSummary {
  accepted: number;
  duplicates: number;
  moved: number;
  failed: number;
}

/** The slice of imapflow the poller uses (tests may hand in another implementation). */
export interface ImapClient {
  connect(): Promise<void>;
  logout(): Promise<void>;
  close(): void;
  list(): Promise<{ path: string }[]>;
  mailboxCreate(path: string): Promise<unknown>;
  getMailboxLock(path: string): Promise<{ release(): void }>;
  search(query: { all: true }, options: { uid: true }): Promise<number[] | false | undefined>;
  fetchOne(
    seq: string,
    query: { uid: true; source: true; size: true; internalDate: true },
    options: { uid: true },
  ): Promise<{ uid: number; source?: Buffer; size?: number; internalDate?: Date | string } | false>;
  messageMove(range: string, destination: string, options: { uid: true }): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export function createImapClient(options: ImapPollerOptions): ImapClient {
  return new ImapFlow({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    auth: { user: options.user, pass: options.password },
    logger: false,
    ...(options.allowSelfSigned ? { tls: { rejectUnauthorized: false } } : {}),
  }) as unknown as ImapClient;
}

const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;

/** One poll: connect, take up to `batch` messages, log out. */
export async function pollImapOnce(
  deps: IntakeInboxDeps,
  options: ImapPollerOptions,
  client: ImapClient = createImapClient(options),
): Promise<ImapPollSummary> {
  const summary: ImapPollSummary = { accepted: 0, duplicates: 0, moved: 0, failed: 0 };
  const mailbox = options.mailbox ?? 'INBOX';
  const processed = options.processedFolder ?? 'aupdesk-processed';
  const failedFolder = options.failedFolder ?? 'aupdesk-failed';
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
  client.on('error', (error) => options.logger?.warn({ error: error.message }, 'imap connection error'));
  try {
    await client.connect();
  } catch (error) {
    throw new AupError(
      'AUP_ERR_STORE_UNAVAILABLE',
      `cannot log in to IMAP ${options.host}:${options.port} as ${options.user}`,
      {
        cause: error,
      },
    );
  }
  try {
    const existing = new Set((await client.list()).map((m) => m.path));
    for (const folder of [processed, failedFolder]) {
      if (!existing.has(folder)) await client.mailboxCreate(folder);
    }
    const lock = await client.getMailboxLock(mailbox);
    try {
      const uids = (await client.search({ all: true }, { uid: true })) || [];
      for (const uid of uids.slice(0, options.batch ?? 200)) {
        const message = await client.fetchOne(
          String(uid),
          { uid: true, source: true, size: true, internalDate: true },
          { uid: true },
        );
        if (!message) continue;
        if ((message.size ?? 0) > maxBytes || !message.source) {
          options.logger?.warn(
            { uid, size: message.size },
            'imap message over the size limit moved to the failed folder',
          );
          await client.messageMove(String(uid), failedFolder, { uid: true });
          summary.failed++;
          continue;
        }
        const internal = message.internalDate ? new Date(message.internalDate) : undefined;
        const accepted = await acceptReport(deps, {
          bytes: new Uint8Array(message.source),
          channel: 'imap',
          receivedAt: internal && !Number.isNaN(internal.getTime()) ? internal : new Date(),
          route: options.route ?? 'abuse',
          contentType: 'message/rfc822',
        });
        if (accepted.duplicate) summary.duplicates++;
        else summary.accepted++;
        options.onAccepted?.(accepted);
        // Only now: the message is durable on our side.
        await client.messageMove(String(uid), processed, { uid: true });
        summary.moved++;
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => client.close());
  }
  return summary;
}

/** Polls every `intervalMs` until stopped; a failed poll is logged and retried at the next interval. */
export class ImapPoller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly deps: IntakeInboxDeps,
    private readonly options: ImapPollerOptions & { readonly intervalMs?: number | undefined },
  ) {}

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.running = pollImapOnce(this.deps, this.options)
        .then((s) => {
          if (s.accepted + s.duplicates + s.failed > 0) this.options.logger?.info({ ...s }, 'imap poll');
        })
        .catch((error: unknown) => {
          this.options.logger?.error(
            { error: error instanceof Error ? error.message : String(error) },
            'imap poll failed',
          );
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.intervalMs ?? 60_000);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
