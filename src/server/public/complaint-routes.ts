import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type ComplaintForm,
  complaintFormSchema,
  composeComplaintMessage,
  safeContentType,
  safeFileName,
  type UploadedEvidence,
} from '../../intake/channels/web-form-complaint.js';
import {
  checkFormToken,
  checkStatusTag,
  FORM_COOKIE,
  issueFormToken,
  readCookie,
  statusTag,
} from './form-token.js';
import { FORM_OVERHEAD_BYTES, formatBytes, type PublicContext } from './public-context.js';
import { messagePage } from './public-layout.js';
import { renderReportForm, renderReportStatus } from './report-pages.js';

/**
 * The complaint form, its post (stored through the intake door before the reporter is answered), and the
 * status page of a report.
 */
export function complaintRoutes(app: FastifyInstance, ctx: PublicContext): void {
  const {
    options,
    pageConfig,
    maxUpload,
    formRateLimit,
    statusOf,
    originOf,
    sendHtml,
    notFound,
    currentDocument,
  } = ctx;
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
