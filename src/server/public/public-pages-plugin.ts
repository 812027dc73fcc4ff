import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { type ReportStatusView, reportStatusOf } from '../../cases/queries/report-status.js';
import { isAupError } from '../../errors.js';
import {
  type ComplaintForm,
  complaintFormSchema,
  composeComplaintMessage,
  safeContentType,
  safeFileName,
  type UploadedEvidence,
} from '../../intake/channels/web-form-complaint.js';
import { type AcceptedReport, type AcceptReportInput, acceptReport } from '../../intake/intake-inbox.js';
import { diffPolicies } from '../../policy/policy-diff.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import {
  listPolicyVersions,
  listProviders,
  loadPolicyHistoryFromStore,
} from '../../policy/policy-repository.js';
import type { Database } from '../../store/schema.js';
import type { AppFeature } from '../app-deps.js';
import { publicRateLimit } from '../plugins/rate-limit-plugin.js';
import {
  checkFormToken,
  checkStatusTag,
  FORM_COOKIE,
  issueFormToken,
  readCookie,
  statusTag,
} from './form-token.js';
import { renderDiffPage, renderDmcaPage, renderPolicyPage, versionTimeline } from './policy-pages.js';
import {
  messagePage,
  PUBLIC_CSP,
  PUBLIC_STYLESHEET,
  STYLESHEET_ETAG,
  STYLESHEET_PATH,
} from './public-layout.js';
import { renderReportForm, renderReportStatus } from './report-pages.js';
import { renderSecurityTxt } from './security-txt.js';

/**
 * The public pages, one Fastify plugin (encapsulated: its multipart parser, error pages and hooks stay
 * inside): `/aup` (the policy in force, earlier and announced versions, `/aup/<version>`, `/aup/diff`),
 * `/report` (the complaint form), `/report/status/<ref>`, `/dmca`, `/.well-known/security.txt` and the
 * shared stylesheet. Server-rendered HTML, escaped by default (safe-html.ts), no script, nothing fetched
 * from elsewhere.
 *
 * A complaint is stored first: the form's post becomes one message (intake/channels/web-form-complaint.ts) handed to
 * `acceptReport` on channel `form`; only once that has committed does the reporter see a reference.
 */

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
  /** The intake door (src/intake/intake-inbox.ts `acceptReport`, bound to its deps). */
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
const FORM_OVERHEAD_BYTES = 256 * 1024;

interface PolicyCache {
  key: string;
  history: PolicyHistory;
}

export async function publicPagesPlugin(app: FastifyInstance, options: PublicPagesOptions): Promise<void> {
  const maxUpload = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const formRateLimit = options.formRateLimit ?? DEFAULT_FORM_RATE_LIMIT;
  const pageConfig = { config: { rateLimit: publicRateLimit } };
  const statusOf = options.reportStatus ?? ((id: string) => reportStatusOf(options.db, id));
  let cache: PolicyCache | undefined;
  const originOf = (): string =>
    (typeof options.origin === 'function' ? options.origin() : options.origin).replace(/\/+$/, '');

  if (!app.hasContentTypeParser('multipart/form-data')) {
    await app.register(multipart, { limits: { fileSize: maxUpload, files: 1, fields: 20, parts: 25 } });
  }

  /** The provider's history from the store, re-read only when the published versions change. */
  async function policyHistory(): Promise<PolicyHistory | undefined> {
    let provider = options.providerId;
    if (provider === undefined) {
      const providers = await listProviders(options.db);
      provider = providers[0]?.id;
      if (provider === undefined) return undefined;
    }
    const versions = await listPolicyVersions(options.db, provider);
    if (versions.length === 0) return undefined;
    const key = versions.map((v) => `${v.version}:${v.sha256}`).join(',');
    if (cache?.key !== key || cache.history.provider !== provider) {
      cache = { key, history: await loadPolicyHistoryFromStore(options.db, provider) };
    }
    return cache.history;
  }

  async function currentDocument() {
    const history = await policyHistory();
    if (!history) return undefined;
    const timeline = versionTimeline(history, options.clock.now());
    return (timeline.current ?? timeline.upcoming[0])?.document;
  }

  const sendHtml = (reply: FastifyReply, status: number, body: string): FastifyReply =>
    reply
      .code(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', PUBLIC_CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(body);

  const notFound = async (reply: FastifyReply, message: string): Promise<FastifyReply> =>
    sendHtml(
      reply,
      404,
      messagePage({
        title: 'Not found',
        message,
        providerName: (await currentDocument())?.provider.name,
        back: { href: '/aup', label: 'The acceptable use policy' },
      }),
    );

  app.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const given = error.statusCode ?? (isAupError(error) ? error.status : undefined);
    const status = given && given >= 400 && given < 600 ? given : 500;
    if (status >= 500) request.log.error({ err: error }, 'public page failed');
    const message =
      status === 413
        ? `The upload is larger than this desk accepts (at most ${formatBytes(maxUpload)}). Send a smaller file, or compress it.`
        : status === 415
          ? 'This form must be sent as multipart/form-data, as a browser sends it.'
          : status >= 500
            ? 'Something went wrong on our side. Nothing you sent was lost if you saw no reference; please try again later.'
            : error.message;
    return sendHtml(
      reply,
      status,
      messagePage({
        title:
          status === 413
            ? 'Upload too large'
            : status === 429
              ? 'Too many requests'
              : status >= 500
                ? 'Server error'
                : 'Request not accepted',
        message,
        back: { href: '/report', label: 'Back to the complaint form' },
      }),
    );
  });

  app.get(STYLESHEET_PATH, async (request, reply) => {
    reply.header('cache-control', 'public, max-age=3600').header('etag', STYLESHEET_ETAG);
    if (request.headers['if-none-match'] === STYLESHEET_ETAG) return reply.code(304).send();
    return reply.type('text/css; charset=utf-8').send(PUBLIC_STYLESHEET);
  });

  app.get('/aup', pageConfig, async (_request, reply) => {
    const history = await policyHistory();
    if (!history) return notFound(reply, 'No acceptable use policy is published yet.');
    const timeline = versionTimeline(history, options.clock.now());
    const shown = timeline.current ?? timeline.upcoming[0]!;
    return sendHtml(reply, 200, renderPolicyPage(history, shown, timeline));
  });

  app.get('/aup/diff', pageConfig, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const from = typeof query.from === 'string' ? query.from : '';
    const to = typeof query.to === 'string' ? query.to : '';
    const history = await policyHistory();
    if (!history) return notFound(reply, 'No acceptable use policy is published yet.');
    const a = history.versions.find((p) => p.document.version === from);
    const b = history.versions.find((p) => p.document.version === to);
    if (!a || !b) {
      const known = history.versions.map((p) => p.document.version).join(', ');
      return sendHtml(
        reply,
        400,
        messagePage({
          title: 'Unknown version',
          message: `Choose two published versions to compare (from=…&to=…). Published: ${known}.`,
          providerName: history.versions.at(-1)?.document.provider.name,
          back: { href: '/aup#versions', label: 'All versions' },
        }),
      );
    }
    return sendHtml(
      reply,
      200,
      renderDiffPage(diffPolicies(a.document, b.document), b.document.provider.name),
    );
  });

  app.get<{ Params: { version: string } }>('/aup/:version', pageConfig, async (request, reply) => {
    const history = await policyHistory();
    if (!history) return notFound(reply, 'No acceptable use policy is published yet.');
    const shown = history.versions.find((p) => p.document.version === request.params.version);
    if (!shown) return notFound(reply, `There is no published version "${request.params.version}".`);
    return sendHtml(
      reply,
      200,
      renderPolicyPage(history, shown, versionTimeline(history, options.clock.now())),
    );
  });

  app.get('/dmca', pageConfig, async (_request, reply) => {
    const doc = await currentDocument();
    const page = doc ? renderDmcaPage(doc) : undefined;
    if (!page) return notFound(reply, 'This provider has not published a DMCA designated agent here.');
    return sendHtml(reply, 200, page);
  });

  app.get('/.well-known/security.txt', pageConfig, async (_request, reply) => {
    const text = renderSecurityTxt({
      origin: originOf(),
      policy: await currentDocument(),
      now: options.clock.now(),
    });
    return reply.type('text/plain; charset=utf-8').header('cache-control', 'max-age=86400').send(text);
  });
  // RFC 9116 §3: the legacy location may redirect to the well-known one.
  app.get('/security.txt', async (_request, reply) => reply.redirect('/.well-known/security.txt', 301));

  const secureCookie = (request: FastifyRequest): boolean =>
    request.protocol === 'https' || originOf().startsWith('https:');

  async function formPage(
    request: FastifyRequest,
    reply: FastifyReply,
    status: number,
    state: { values?: Partial<ComplaintForm>; errors?: Record<string, string> },
  ): Promise<FastifyReply> {
    const doc = await currentDocument();
    const cookieNonce = readCookie(request.headers.cookie, FORM_COOKIE);
    const issued = issueFormToken(options.secret, options.clock.now(), cookieNonce);
    reply.header(
      'set-cookie',
      `${FORM_COOKIE}=${issued.nonce}; Path=/report; HttpOnly; SameSite=Strict; Max-Age=7200${secureCookie(request) ? '; Secure' : ''}`,
    );
    reply.header('cache-control', 'no-store');
    return sendHtml(
      reply,
      status,
      renderReportForm({
        policy: doc,
        token: issued.token,
        maxUploadBytes: maxUpload,
        values: state.values ?? {},
        errors: state.errors ?? {},
      }),
    );
  }

  app.get('/report', pageConfig, async (request, reply) => formPage(request, reply, 200, {}));

  app.post(
    '/report',
    {
      config: { rateLimit: formRateLimit },
      onRequest: async (request, reply) => {
        // Before any body parser runs: a JSON or urlencoded post is refused for what it is, not for its syntax.
        if (!/^multipart\/form-data\s*;/i.test(request.headers['content-type'] ?? '')) {
          return sendHtml(
            reply,
            415,
            messagePage({
              title: 'Request not accepted',
              message: 'This form must be sent as multipart/form-data, as a browser sends it.',
              back: { href: '/report', label: 'Back to the complaint form' },
            }),
          );
        }
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > maxUpload + FORM_OVERHEAD_BYTES) {
          // Refuse before reading the body; the connection closes so the rest is never read.
          reply.header('connection', 'close');
          return sendHtml(
            reply,
            413,
            messagePage({
              title: 'Upload too large',
              message: `The upload is larger than this desk accepts (at most ${formatBytes(maxUpload)}). Send a smaller file, or compress it.`,
              back: { href: '/report', label: 'Back to the complaint form' },
            }),
          );
        }
        return undefined;
      },
    },
    async (request, reply) => {
      const fields: Record<string, string> = {};
      let evidence: UploadedEvidence | undefined;
      for await (const part of request.parts({
        limits: { fileSize: maxUpload, files: 1, fields: 20, parts: 25, fieldSize: 64 * 1024 },
      })) {
        if (part.type === 'file') {
          // toBuffer throws FST_REQ_FILE_TOO_LARGE (413) past the limit; the error handler shows the page.
          const bytes = await part.toBuffer();
          if (part.fieldname === 'evidence' && bytes.length > 0) {
            evidence = {
              fileName: safeFileName(part.filename),
              contentType: safeContentType(part.mimetype),
              bytes,
            };
          }
        } else if (typeof part.value === 'string') {
          if (part.valueTruncated) {
            return formPage(request, reply, 400, {
              values: fields,
              errors: { [part.fieldname]: 'is too long' },
            });
          }
          fields[part.fieldname] = part.value;
        }
      }

      const now = options.clock.now();
      const tokenCheck = checkFormToken(
        options.secret,
        fields._token,
        readCookie(request.headers.cookie, FORM_COOKIE),
        now,
      );
      if (!tokenCheck.ok) {
        return formPage(request, reply, 403, {
          values: withoutToken(fields),
          errors: { _form: tokenCheck.reason },
        });
      }
      const doc = await currentDocument();
      const requireIdentity = doc ? doc.terms.complaints.anonymous === 'reject' : true;
      const parsed = complaintFormSchema(requireIdentity).safeParse(withoutToken(fields));
      if (!parsed.success) {
        const errors: Record<string, string> = {};
        for (const issue of parsed.error.issues) {
          const key = String(issue.path[0] ?? '_form');
          errors[key] ??= issue.message;
        }
        return formPage(request, reply, 422, { values: withoutToken(fields), errors });
      }
      const bytes = await composeComplaintMessage({
        form: parsed.data,
        evidence,
        receivedAt: now,
        deskAddress: doc?.provider.abuse_contact.email ?? 'abuse@desk.invalid',
        formUrl: `${originOf()}/report`,
        remoteAddress: request.ip,
        formToken: fields._token ?? '',
      });
      const accepted = await options.acceptReport({
        bytes,
        channel: 'form',
        route: parsed.data.kind === 'copyright' ? 'dmca' : 'abuse',
        receivedAt: now,
        contentType: 'message/rfc822',
        fileName: 'web-form.eml',
      });
      options.onAccepted?.();
      request.log.info(
        { inbox: accepted.inboxId, sha256: accepted.evidenceSha256, duplicate: accepted.duplicate },
        'complaint accepted from the web form',
      );
      return reply.redirect(
        `/report/status/${accepted.inboxId}-${statusTag(options.secret, accepted.inboxId)}`,
        303,
      );
    },
  );

  app.get<{ Params: { ref: string } }>('/report/status/:ref', pageConfig, async (request, reply) => {
    const match = /^([1-9][0-9]{0,17})-([A-Za-z0-9_-]{22})$/.exec(request.params.ref);
    if (!match || !checkStatusTag(options.secret, match[1]!, match[2]!)) {
      return notFound(reply, 'There is no report under this reference.');
    }
    const status = await statusOf(match[1]!);
    if (!status) return notFound(reply, 'There is no report under this reference.');
    reply.header('cache-control', 'no-store');
    return sendHtml(reply, 200, renderReportStatus(status, (await currentDocument())?.provider.name));
  });
}

function withoutToken(fields: Record<string, string>): Record<string, string> {
  const { _token: _, ...rest } = fields;
  return rest;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

export interface PublicPagesFeatureOptions
  extends Pick<PublicPagesOptions, 'providerId' | 'onAccepted' | 'formRateLimit' | 'maxUploadBytes'> {
  readonly secret: Buffer;
  /** Default: the app's `http.publicUrl`, else `http://localhost`. */
  readonly origin?: string | (() => string) | undefined;
}

/** The public pages as an app feature (`buildApp({ features: [publicPagesFeature(…)] })`). */
export function publicPagesFeature(extra: PublicPagesFeatureOptions): AppFeature {
  return {
    name: 'public-pages',
    register: (app, deps) =>
      publicPagesPlugin(app, {
        db: deps.store.db,
        providerId: extra.providerId,
        secret: extra.secret,
        clock: deps.clock,
        origin: extra.origin ?? deps.http.publicUrl ?? 'http://localhost',
        acceptReport: (input) =>
          acceptReport(
            { db: deps.store.db, evidence: deps.evidenceStore, committer: deps.inboxCommitter },
            input,
          ),
        onAccepted: extra.onAccepted,
        formRateLimit: extra.formRateLimit,
        maxUploadBytes: extra.maxUploadBytes ?? Math.min(deps.http.maxUploadBytes, DEFAULT_MAX_UPLOAD_BYTES),
      }),
  };
}
