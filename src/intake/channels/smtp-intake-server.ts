import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import {
  SMTPServer,
  type SMTPServerAddress,
  type SMTPServerDataStream,
  type SMTPServerOptions,
  type SMTPServerSession,
} from 'smtp-server';
import { AupError } from '../../errors.js';
import type { InboxKind } from '../../store/tables/intake.table.js';
import {
  type AcceptedReport,
  acceptReport,
  type InboxLogger,
  type InboxRoute,
  type IntakeInboxDeps,
} from '../inbox/inbox-accept.js';
import { loopToken } from '../mail-loop.js';

/**
 * SMTP intake: the desk's abuse@ / dmca@ addresses as a real SMTP server (smtp-server).
 *
 * - Recipients route by local part (`abuse@` → abuse, `dmca@` / `copyright@` → dmca, `legal@` → legal, configurable; `+tags`
 *   ignored); an unknown local part, or a domain not in `domains` when that list is set, is refused with
 *   `550` at RCPT, so nothing is accepted that nobody reads.
 * - `250` only after `acceptReport` returned: the evidence is fsynced and the inbox row committed. A storage
 *   failure answers `451` (the client retries; the duplicate check absorbs a retry of a message whose
 *   `250` was lost).
 * - SIZE is advertised; a declared SIZE over the limit is refused at MAIL (`552`), and DATA is counted as it
 *   streams: past the limit the bytes are dropped (never buffered) and the message is answered `552`.
 * - Per client address: at most `maxConnectionsPerClient` open connections (`421` at connect) and
 *   `rateLimit.messages` per `rateLimit.perMs` (`450` at MAIL, a token bucket). `maxClients` overall (`421`).
 * - Optional STARTTLS with the configured key and certificate.
 * - Loops: more than `maxReceivedHeaders` Received headers is refused `554 5.4.6`; a message carrying our
 *   own `X-Loop` token or an `X-Aupdesk-Case` header (one of our notices came back to us) is accepted and
 *   recorded as kind `loop`, never processed as a complaint, so the loop stops here without a bounce.
 * - Bounces (`multipart/report; report-type=delivery-status` or `disposition-notification`, or a null
 *   sender / MAILER-DAEMON that is not an ARF feedback report) are accepted and recorded as kind `bounce`.
 * - The raw message is stored exactly as received (no trace header added), so a client's retry of the same
 *   message is recognised as a duplicate; the envelope and peer address are kept on the inbox row.
 */

export interface SmtpTlsOptions {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

export interface SmtpIntakeOptions {
  readonly host?: string | undefined;
  /** 0 picks a free port (tests). */
  readonly port: number;
  /** Our name in the greeting and EHLO (default the host name). */
  readonly serverName?: string | undefined;
  /** Local part (lower case) → route. Default: abuse → abuse, dmca and copyright → dmca, security → security. */
  readonly routes?: Readonly<Record<string, InboxRoute>> | undefined;
  /** Recipient domains we take mail for; unset takes any domain (a desk behind a relay). */
  readonly domains?: readonly string[] | undefined;
  /** Largest message accepted, bytes (default 25 MiB). */
  readonly maxMessageBytes?: number | undefined;
  readonly maxRecipients?: number | undefined;
  /** All connections (default 200). */
  readonly maxClients?: number | undefined;
  readonly maxConnectionsPerClient?: number | undefined;
  /** Messages per client address per window (default 600 per minute). */
  readonly rateLimit?: { readonly messages: number; readonly perMs: number } | undefined;
  readonly tls?: SmtpTlsOptions | undefined;
  /** More Received headers than this is a loop (default 30). */
  readonly maxReceivedHeaders?: number | undefined;
  /** Our X-Loop token (default `loopToken()`, as our mail adapters send it): mail carrying it is ours. */
  readonly loopToken?: string | undefined;
  readonly socketTimeoutMs?: number | undefined;
  readonly logger?: InboxLogger | undefined;
  /** Called after each accepted message (wake the inbox worker, count metrics). */
  readonly onAccepted?: ((accepted: AcceptedReport, info: AcceptedInfo) => void) | undefined;
  /** Called on each refusal with its SMTP code (metrics). */
  readonly onRefused?: ((code: number, reason: string) => void) | undefined;
}

export interface AcceptedInfo {
  readonly route: InboxRoute;
  readonly kind: InboxKind;
  readonly remoteAddress: string;
}

export const defaultSmtpRoutes: Readonly<Record<string, InboxRoute>> = {
  abuse: 'abuse',
  dmca: 'dmca',
  copyright: 'dmca',
  security: 'security',
  // Subpoenas, court orders and other information requests (src/legal).
  legal: 'legal',
  // Requests to delete a minor's personal data (src/compliance, INFINCE).
  privacy: 'privacy',
};

const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;

/** An SMTP error carrying the reply code smtp-server sends. */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

export class SmtpIntakeServer {
  private readonly server: SMTPServer;
  private readonly routes: ReadonlyMap<string, InboxRoute>;
  private readonly domains: ReadonlySet<string> | undefined;
  private readonly maxBytes: number;
  private readonly perClient = new Map<string, number>();
  private readonly sessions = new Set<string>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private boundPort = 0;

  constructor(
    private readonly deps: IntakeInboxDeps,
    private readonly options: SmtpIntakeOptions,
  ) {
    const routes = options.routes ?? defaultSmtpRoutes;
    this.routes = new Map(Object.entries(routes).map(([k, v]) => [k.toLowerCase(), v]));
    this.domains = options.domains ? new Set(options.domains.map((d) => d.toLowerCase())) : undefined;
    this.maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_BYTES;
    if (!Number.isInteger(this.maxBytes) || this.maxBytes < 1024) {
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        'SMTP maxMessageBytes must be an integer of at least 1024',
      );
    }
    const serverOptions: SMTPServerOptions = {
      name: options.serverName ?? hostname(),
      banner: 'aupdesk abuse intake',
      size: this.maxBytes,
      rejectOversized: true,
      authOptional: true,
      disabledCommands: ['AUTH'],
      hideSTARTTLS: !options.tls,
      ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
      maxClients: options.maxClients ?? 200,
      // RFC 5321 4.5.3.1.4: 512 octets for a command line; we allow room for extension parameters.
      maxCommandLength: 2048,
      socketTimeout: options.socketTimeoutMs ?? 60_000,
      closeTimeout: 5_000,
      logger: false,
      onConnect: (session, cb) => this.onConnect(session, cb),
      onClose: (session) => this.onClose(session),
      onMailFrom: (address, session, cb) => this.onMailFrom(address, session, cb),
      onRcptTo: (address, session, cb) => this.onRcptTo(address, session, cb),
      onData: (stream, session, cb) => this.onData(stream, session, cb),
    };
    this.server = new SMTPServer(serverOptions);
    this.server.on('error', (error) => {
      options.logger?.warn({ error: error.message }, 'smtp intake connection error');
    });
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        this.server.server.off('error', onError);
        resolve();
      });
    });
    const address = this.server.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.options.port;
    return this.boundPort;
  }

  /** Stops accepting; open sessions get `421` and the server waits (up to 5 s) for them to end. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private refuse(code: number, message: string): Error & { responseCode: number } {
    this.options.onRefused?.(code, message);
    return smtpError(code, message);
  }

  private onConnect(session: SMTPServerSession, cb: (err?: Error | null) => void): void {
    const ip = session.remoteAddress;
    const limit = this.options.maxConnectionsPerClient ?? 10;
    const open = this.perClient.get(ip) ?? 0;
    if (open >= limit) {
      cb(this.refuse(421, `4.7.0 Too many connections from ${ip} (limit ${limit}), try again later`));
      return;
    }
    this.perClient.set(ip, open + 1);
    this.sessions.add(session.id);
    cb();
  }

  private onClose(session: SMTPServerSession): void {
    if (!this.sessions.delete(session.id)) return;
    const ip = session.remoteAddress;
    const open = (this.perClient.get(ip) ?? 1) - 1;
    if (open <= 0) this.perClient.delete(ip);
    else this.perClient.set(ip, open);
  }

  private onMailFrom(
    _address: SMTPServerAddress,
    session: SMTPServerSession,
    cb: (err?: Error | null) => void,
  ): void {
    const rate = this.options.rateLimit ?? { messages: 600, perMs: 60_000 };
    const ip = session.remoteAddress;
    const now = Date.now();
    const bucket = this.buckets.get(ip) ?? { tokens: rate.messages, at: now };
    bucket.tokens = Math.min(rate.messages, bucket.tokens + ((now - bucket.at) * rate.messages) / rate.perMs);
    bucket.at = now;
    if (bucket.tokens < 1) {
      this.buckets.set(ip, bucket);
      const waitS = Math.ceil(((1 - bucket.tokens) * rate.perMs) / rate.messages / 1000);
      cb(
        this.refuse(
          450,
          `4.7.1 Rate limit: at most ${rate.messages} messages per ${Math.round(rate.perMs / 1000)} s from ${ip}; try again in ${waitS} s`,
        ),
      );
      return;
    }
    bucket.tokens -= 1;
    this.buckets.set(ip, bucket);
    if (this.buckets.size > 10_000) this.pruneBuckets(now, rate.perMs);
    cb();
  }

  private pruneBuckets(now: number, perMs: number): void {
    for (const [ip, b] of this.buckets) if (now - b.at > perMs) this.buckets.delete(ip);
  }

  private onRcptTo(
    address: SMTPServerAddress,
    session: SMTPServerSession,
    cb: (err?: Error | null) => void,
  ): void {
    const max = this.options.maxRecipients ?? 20;
    if (session.envelope.rcptTo.length >= max) {
      cb(this.refuse(452, `4.5.3 Too many recipients (at most ${max})`));
      return;
    }
    const route = this.routeOf(address.address);
    if (route === 'bad-domain') {
      cb(
        this.refuse(
          550,
          `5.7.1 Relaying denied: this server takes mail only for ${[...this.domains!].join(', ')}`,
        ),
      );
      return;
    }
    if (route === undefined) {
      cb(
        this.refuse(
          550,
          `5.1.1 No such mailbox <${address.address.slice(0, 200)}>: this desk takes ${[...this.routes.keys()].map((k) => `${k}@`).join(', ')}`,
        ),
      );
      return;
    }
    cb();
  }

  /** The route of a recipient, `bad-domain` outside our domains, undefined for an unknown mailbox. */
  routeOf(address: string): InboxRoute | 'bad-domain' | undefined {
    const at = address.lastIndexOf('@');
    const local = (at === -1 ? address : address.slice(0, at)).toLowerCase().replace(/\+.*$/, '');
    const domain = at === -1 ? '' : address.slice(at + 1).toLowerCase();
    if (this.domains && !this.domains.has(domain)) return 'bad-domain';
    return this.routes.get(local);
  }

  private onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    cb: (err?: Error | null, message?: string) => void,
  ): void {
    const receivedAt = new Date();
    collect(stream, this.maxBytes).then(
      async (bytes) => {
        if (bytes === undefined) {
          // smtp-server answers 552 itself (rejectOversized) once the stream ended; say it once more for logs.
          this.options.onRefused?.(552, 'message over the size limit');
          cb(smtpError(552, `5.3.4 Message exceeds the maximum size of ${this.maxBytes} bytes`));
          return;
        }
        const head = inspectHeaders(bytes);
        if (head.received > (this.options.maxReceivedHeaders ?? 30)) {
          cb(this.refuse(554, `5.4.6 Too many hops (${head.received} Received headers): mail loop`));
          return;
        }
        const mailFrom = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const kind = classify(head, mailFrom, this.options.loopToken ?? loopToken());
        const rcptTo = session.envelope.rcptTo.map((r) => r.address);
        const routed = rcptTo.map((r) => this.routeOf(r)).find((r) => r !== undefined && r !== 'bad-domain');
        const route: InboxRoute = routed ?? 'abuse';
        let accepted: AcceptedReport;
        try {
          accepted = await acceptReport(this.deps, {
            bytes,
            channel: 'smtp',
            receivedAt,
            route,
            kind,
            contentType: 'message/rfc822',
            envelope: { mailFrom, rcptTo, remoteAddress: session.remoteAddress },
          });
        } catch (error) {
          this.options.logger?.error(
            { error: error instanceof Error ? error.message : String(error), remote: session.remoteAddress },
            'smtp intake: storing a message failed',
          );
          cb(this.refuse(451, '4.3.0 Temporary failure storing the message; try again later'));
          return;
        }
        this.options.onAccepted?.(accepted, { route, kind, remoteAddress: session.remoteAddress });
        cb(
          null,
          accepted.duplicate
            ? `2.0.0 OK: already received as ${accepted.inboxId}`
            : `2.0.0 OK: queued as ${accepted.inboxId}`,
        );
      },
      (error: unknown) => {
        cb(
          this.refuse(
            451,
            `4.3.0 Receiving the message failed: ${error instanceof Error ? error.message : 'error'}`,
          ),
        );
      },
    );
  }
}

/** Reads the DATA stream; undefined (and nothing kept) once past `max` bytes, still reading to the end. */
function collect(
  stream: Readable & { sizeExceeded?: boolean },
  max: number,
): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let over = false;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (over) return;
      if (total > max) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => {
      if (over || stream.sizeExceeded) resolve(undefined);
      else resolve(new Uint8Array(Buffer.concat(chunks, total)));
    });
  });
}

export interface HeaderFacts {
  readonly received: number;
  readonly xLoop: readonly string[];
  readonly contentType: string;
  readonly from: string;
  readonly aupdeskCase: boolean;
}

/** The few header facts intake decides on, from the header block (first 256 KiB at most). */
export function inspectHeaders(bytes: Uint8Array): HeaderFacts {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 262_144)).toString(
    'latin1',
  );
  const end = text.search(/\r?\n\r?\n/);
  const block = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  let received = 0;
  const xLoop: string[] = [];
  let contentType = '';
  let from = '';
  let aupdeskCase = false;
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'received') received++;
    else if (name === 'x-loop') xLoop.push(value.toLowerCase());
    else if (name === 'content-type') contentType = value.toLowerCase();
    else if (name === 'from') from = value.toLowerCase();
    else if (name === 'x-aupdesk-case') aupdeskCase = true;
  }
  return { received, xLoop, contentType, from, aupdeskCase };
}

/** complaint, bounce or loop (see the module comment). */
export function classify(head: HeaderFacts, mailFrom: string, loopToken: string): InboxKind {
  if (head.aupdeskCase || head.xLoop.includes(loopToken.toLowerCase())) return 'loop';
  const report = /^multipart\/report\b/.test(head.contentType)
    ? (/report-type\s*=\s*"?([a-z0-9-]+)/.exec(head.contentType)?.[1] ?? '')
    : '';
  if (report === 'delivery-status' || report === 'disposition-notification') return 'bounce';
  if (report === 'feedback-report') return 'complaint';
  const daemon = /\b(mailer-daemon|postmaster)@/.test(head.from) || /^mailer-daemon\b/.test(head.from);
  if (mailFrom === '' || daemon) return 'bounce';
  return 'complaint';
}

export async function startSmtpIntake(
  deps: IntakeInboxDeps,
  options: SmtpIntakeOptions,
): Promise<SmtpIntakeServer> {
  const server = new SmtpIntakeServer(deps, options);
  await server.listen();
  return server;
}
