import type { FastifyReply } from 'fastify';
import type { Kysely } from 'kysely';
import type { ReportStatusView } from '../../cases/queries/report-status.js';
import type { AcceptedReport, AcceptReportInput } from '../../intake/inbox/inbox-accept.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import type { Database } from '../../store/schema.js';
import type { RateLimitSettings } from '../plugins/rate-limit-plugin.js';

/** The public pages' options and what their route files share. */

export interface PublicPagesOptions {
  readonly db: Kysely<Database>;
  /** The provider whose policy the pages publish; default the only (or first) provider published. */
  readonly providerId?: string | undefined;
  /** Signs form tokens and status links; all api processes of one desk must share it. */
  readonly secret: Buffer;
  readonly clock: { now(): Date };
  /**
   * The desk's public origin (`https://abuse.example.net`), for security.txt and the form's trace line; a
   * function is asked per request (the serve command knows its port only once it listens).
   */
  readonly origin: string | (() => string);
  /** The intake door (src/intake/inbox/inbox-accept.ts `acceptReport`, bound to its deps). */
  readonly acceptReport: (input: AcceptReportInput) => Promise<AcceptedReport>;
  /** Called after a report was accepted (wakes the inbox worker). */
  readonly onAccepted?: (() => void) | undefined;
  readonly reportStatus?: ((inboxId: string) => Promise<ReportStatusView | undefined>) | undefined;
  /** Largest evidence upload (default 10 MiB); larger gets a 413 page. */
  readonly maxUploadBytes?: number | undefined;
  /**
   * Complaint posts per client address (default 10 per 10 minutes), enforced by the app's rate limiter
   * (src/server/plugins/rate-limit-plugin.ts), so `http.rateLimits: false` turns it off in tests.
   */
  readonly formRateLimit?: { readonly max: number; readonly timeWindow: number } | undefined;
}

export const DEFAULT_FORM_RATE_LIMIT = { max: 10, timeWindow: 10 * 60_000 } as const;

export const DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
/** Room for the form fields and multipart framing on top of the file. */
export const FORM_OVERHEAD_BYTES = 256 * 1024;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/** What the public pages' route files share (built once per plugin by `publicPagesPlugin`). */
export interface PublicContext {
  readonly options: PublicPagesOptions;
  /** Route options of a page: the public rate limit. */
  readonly pageConfig: { config: { rateLimit: RateLimitSettings } };
  readonly maxUpload: number;
  readonly formRateLimit: { readonly max: number; readonly timeWindow: number };
  readonly statusOf: (inboxId: string) => Promise<ReportStatusView | undefined>;
  /** The desk's public origin, without a trailing slash. */
  originOf(): string;
  sendHtml(reply: FastifyReply, status: number, body: string): FastifyReply;
  notFound(reply: FastifyReply, message: string): Promise<FastifyReply>;
  /** The provider's published history (cached until it changes); undefined when none is published. */
  policyHistory(): Promise<PolicyHistory | undefined>;
  currentDocument(): Promise<PolicyDocument | undefined>;
}
