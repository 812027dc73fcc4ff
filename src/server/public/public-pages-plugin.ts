import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { reportStatusOf } from '../../cases/queries/report-status.js';
import { isAupError } from '../../errors.js';
import { acceptReport } from '../../intake/inbox/inbox-accept.js';
import type { PolicyHistory } from '../../policy/policy-loader.js';
import {
  listPolicyVersions,
  listProviders,
  loadPolicyHistoryFromStore,
} from '../../policy/policy-repository.js';
import type { AppFeature } from '../app-deps.js';
import { publicRateLimit } from '../plugins/rate-limit-plugin.js';
import { aupRoutes } from './aup-routes.js';
import { complaintRoutes } from './complaint-routes.js';
import { registerDmcaForm } from './dmca-form.js';
import { renderDmcaPage, versionTimeline } from './policy-pages.js';
import { registerPrivacyForm } from './privacy-form.js';
import {
  DEFAULT_FORM_RATE_LIMIT,
  DEFAULT_MAX_UPLOAD_BYTES,
  formatBytes,
  type PublicContext,
  type PublicPagesOptions,
} from './public-context.js';
import {
  messagePage,
  PUBLIC_CSP,
  PUBLIC_STYLESHEET,
  STYLESHEET_ETAG,
  STYLESHEET_PATH,
} from './public-layout.js';

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

  const ctx: PublicContext = {
    options,
    pageConfig,
    maxUpload,
    formRateLimit,
    statusOf,
    originOf,
    sendHtml,
    notFound,
    policyHistory,
    currentDocument,
  };
  aupRoutes(app, ctx);
  complaintRoutes(app, ctx);
  registerDmcaForm(app, {
    secret: options.secret,
    clock: options.clock,
    acceptReport: options.acceptReport,
    onAccepted: options.onAccepted,
    formRateLimit,
    pageConfig,
    secure: (request) => request.protocol === 'https' || originOf().startsWith('https:'),
    page: async (form) => {
      const doc = await currentDocument();
      return doc ? renderDmcaPage(doc, form) : undefined;
    },
    send: (reply, status, page) => sendHtml(reply, status, page),
    notFound: (reply) => notFound(reply, 'This provider has not published a DMCA designated agent here.'),
  });
  registerPrivacyForm(app, {
    secret: options.secret,
    clock: options.clock,
    acceptReport: options.acceptReport,
    onAccepted: options.onAccepted,
    formRateLimit,
    pageConfig,
    secure: (request) => request.protocol === 'https' || originOf().startsWith('https:'),
    currentDocument,
    send: (reply, status, page) => sendHtml(reply, status, page),
    notFound: (reply) => notFound(reply, "This provider's policy makes no promise about children's data."),
  });
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
