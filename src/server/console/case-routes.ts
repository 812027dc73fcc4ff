import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { reportBelongsToCase } from '../../cases/queries/case-queue.js';
import { getReport } from '../../cases/report-repository.js';
import { decideConsentEvidence } from '../../compliance/consent-evidence.js';
import { AupError, isAupError } from '../../errors.js';
import { page, sendPage } from '../views/layout.js';
import {
  caseRefOf,
  field,
  fields,
  formOf,
  principalOfPage,
  redirectWith,
  shell,
} from '../views/page-support.js';
import { BULK_ACTIONS, runCaseAction } from './case-actions.js';
import { renderCasePage } from './case-page.js';
import { attachmentBytes, contentDisposition, loadCaseView } from './case-view.js';
import { type ConsoleContext, caseByRef, consoleSpec, orBackWithError } from './console-context.js';

/** A case: its page, the analyst's actions on it (one or many cases), and its evidence as downloads. */
export function caseRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { deps, db, secure, enforcement } = ctx;
  app.post('/cases/bulk', async (request, reply) => {
    const body = formOf(request);
    const me = principalOfPage(request).name;
    const refs = fields(body, 'case').slice(0, 200);
    const action = field(body, 'action');
    if (refs.length === 0)
      return redirectWith(reply, '/console', { kind: 'error', text: 'Select at least one case.' }, secure);
    const enf = await enforcement();
    const done: string[] = [];
    const failed: string[] = [];
    for (const ref of refs) {
      try {
        if (!BULK_ACTIONS.has(action)) throw new AupError('AUP_ERR_INPUT_INVALID', 'unknown bulk action');
        await runCaseAction(enf, ref, me, {
          action,
          assignee: field(body, 'assignee'),
          reason: field(body, 'reason') || 'dismissed in bulk',
        });
        done.push(ref);
      } catch (error) {
        failed.push(`${ref}: ${isAupError(error) ? error.message : 'failed'}`);
      }
    }
    const back =
      typeof request.headers.referer === 'string' && request.headers.referer.includes('/console')
        ? '/console'
        : '/console';
    return redirectWith(
      reply,
      back,
      {
        kind: failed.length > 0 ? 'error' : 'ok',
        text: `${action}: ${done.length} done${failed.length > 0 ? `; ${failed.length} failed (${failed.slice(0, 5).join('; ')})` : ''}`,
      },
      secure,
    );
  });

  // A case.
  app.get('/cases/:ref', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await caseByRef(ctx, ref);
    const enf = await enforcement();
    const view = await loadCaseView(enf, deps.evidenceStore, record, { audit: true, notes: true });
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: record.ref,
        body: renderCasePage(view, { csrfToken: s.csrfToken, now: deps.clock.now(), me: s.user.name }),
      }),
    );
  });

  app.post('/cases/:ref/actions', async (request, reply) => {
    const { ref } = caseRefOf(request.params);
    const record = await caseByRef(ctx, ref);
    const me = principalOfPage(request).name;
    const back = `/console/cases/${encodeURIComponent(record.ref)}`;
    return orBackWithError(ctx, reply, back, async () => {
      const outcome = await runCaseAction(await enforcement(), record.ref, me, formOf(request));
      return redirectWith(reply, back, { kind: 'ok', text: outcome.message }, secure);
    });
  });

  // Accept or reject the customer's consent evidence (Secure Packet §4.3): accept marks the case cured,
  // reject returns it to the ladder. Audited by the command.
  app.post('/cases/:ref/consent-evidence/:id/decide', async (request, reply) => {
    const params = z
      .object({
        ref: z.string().max(40),
        id: z.coerce
          .number()
          .int()
          .positive()
          .max(2 ** 31 - 1),
      })
      .safeParse(request.params);
    if (!params.success) throw new AupError('AUP_ERR_NOT_FOUND', 'no such consent evidence');
    const record = await caseByRef(ctx, params.data.ref);
    const me = principalOfPage(request).name;
    const back = `/console/cases/${encodeURIComponent(record.ref)}`;
    const body = formOf(request);
    const decision = field(body, 'decision');
    if (decision !== 'accept' && decision !== 'reject') {
      return redirectWith(reply, back, { kind: 'error', text: 'choose accept or reject' }, secure);
    }
    return orBackWithError(ctx, reply, back, async () => {
      const note = field(body, 'note');
      const result = await decideConsentEvidence(await enforcement(), {
        caseRef: record.ref,
        id: params.data.id,
        decision,
        analyst: me,
        ...(note === '' ? {} : { note }),
      });
      const text = `consent evidence ${result.evidence.id} ${result.evidence.status}: the case is ${result.caseStatus}`;
      return redirectWith(reply, back, { kind: 'ok', text }, secure);
    });
  });

  const evidenceParams = z.object({
    ref: z.string().max(40),
    report: z.coerce
      .number()
      .int()
      .positive()
      .max(2 ** 31 - 1),
    index: z.coerce.number().int().min(0).max(10_000).optional(),
  });
  /** The report named in the path, only if it is evidence of the case named there. */
  const evidenceOf = async (params: unknown) => {
    const p = evidenceParams.parse(params);
    const record = await caseByRef(ctx, p.ref);
    const report = await getReport(db, p.report);
    if (!report || !(await reportBelongsToCase(db, report.id, record.id)))
      throw new AupError('AUP_ERR_NOT_FOUND', 'no such evidence on this case');
    return { report, index: p.index ?? 0 };
  };
  // Always a download of opaque bytes: evidence is never displayed by the browser as a page.
  const download = (reply: FastifyReply, fileName: string, bytes: Uint8Array) =>
    reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', contentDisposition(fileName))
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox")
      .send(Buffer.from(bytes));

  app.get('/cases/:ref/evidence/:report/raw', async (request, reply) => {
    const { report } = await evidenceOf(request.params);
    const bytes = await deps.evidenceStore.get(report.evidenceSha256);
    return download(reply, `report-${report.id}.eml`, bytes);
  });

  app.get('/cases/:ref/evidence/:report/attachments/:index', async (request, reply) => {
    const { report, index } = await evidenceOf(request.params);
    const found = await attachmentBytes(deps.evidenceStore, report, index);
    if (!found) throw new AupError('AUP_ERR_NOT_FOUND', 'no such attachment');
    return download(reply, found.fileName, found.bytes);
  });
}
