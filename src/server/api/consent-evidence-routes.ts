import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../../accounts/principal.js';
import { caseIdFromRef } from '../../cases/case-ref.js';
import { type CaseRecord, getCase } from '../../cases/case-repository.js';
import {
  type ConsentEvidence,
  decideConsentEvidence,
  listConsentEvidence,
  submitConsentEvidence,
} from '../../compliance/consent-evidence.js';
import { AupError } from '../../errors.js';
import { assertOwnCustomer, principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  analystOf,
  commandDepsOf,
  errorResponses,
  idParam,
  iso,
  secured,
  typed,
} from './api-support.js';

/**
 * Consent evidence on a case (compliance/consent-evidence.ts, Secure Packet §4.3): the customer sends it per
 * recipient; staff and the customer list it; an analyst accepts it (the case is marked cured) or rejects it
 * (the ladder goes on). Audited by the compliance module.
 */

const recipientSchema = z
  .object({
    address: z.string().describe('the recipient address named in the complaint'),
    time: z.string().describe('when consent was given (date or date-time)'),
    source: z.string().describe('where: the form, the shop, the event'),
    method: z.string().describe('how it was obtained: single or double opt-in, …'),
    confirmation: z.string().describe('how the address was confirmed'),
  })
  .meta({ id: 'ConsentEvidenceRecipient' });

const evidenceSchema = z
  .object({
    id: z.number().int(),
    case: z.string(),
    recipients: z.array(recipientSchema),
    submittedAt: z.string(),
    submittedBy: z.string(),
    status: z.enum(['pending', 'accepted', 'rejected']),
    decidedAt: z.string().nullable(),
    decidedBy: z.string().nullable(),
    note: z.string().nullable(),
  })
  .meta({ id: 'ConsentEvidence' });

const submitSchema = z
  .object({ recipients: z.array(z.unknown()).min(1).max(200).describe('ConsentEvidenceRecipient objects') })
  .strict()
  .meta({ id: 'ConsentEvidenceSubmission' });

const decideSchema = z
  .object({ decision: z.enum(['accept', 'reject']), note: z.string().trim().max(4000).optional() })
  .strict()
  .meta({ id: 'ConsentEvidenceDecision' });

const caseParam = z.object({ ref: z.string().min(1).max(40) });

function present(e: ConsentEvidence, ref: string): z.infer<typeof evidenceSchema> {
  return {
    id: e.id,
    case: ref,
    recipients: e.recipients.map((r) => ({ ...r })),
    submittedAt: e.submittedAt.toISOString(),
    submittedBy: e.submittedBy,
    status: e.status,
    decidedAt: iso(e.decidedAt),
    decidedBy: e.decidedBy,
    note: e.note,
  };
}

export const consentEvidenceRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;

  const loadCase = async (principal: Principal, ref: string): Promise<CaseRecord> => {
    let record: CaseRecord | undefined;
    try {
      record = await getCase(db, /^[0-9]+$/.test(ref) ? Number(ref) : caseIdFromRef(ref));
    } catch {
      record = undefined;
    }
    if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${ref} does not exist`);
    assertOwnCustomer(principal, record.customerId, `case ${ref}`);
    return record;
  };

  typed(app).get(
    '/cases/:ref/consent-evidence',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'customer']),
      schema: {
        tags: ['compliance'],
        summary: "A case's consent evidence (Secure Packet §4.3), per recipient",
        security: secured,
        params: caseParam,
        response: { 200: z.object({ items: z.array(evidenceSchema) }), ...errorResponses },
      },
    },
    async (request) => {
      const record = await loadCase(principalOf(request), request.params.ref);
      return { items: (await listConsentEvidence(db, record.id)).map((e) => present(e, record.ref)) };
    },
  );

  typed(app).post(
    '/cases/:ref/consent-evidence',
    {
      onRequest: app.requireAuth(['customer']),
      schema: {
        tags: ['compliance'],
        summary: 'Send consent evidence for the recipients named in the complaint (the customer)',
        description:
          "Each recipient: address, time, source, method, confirmation. The case waits for the analyst's review.",
        security: secured,
        params: caseParam,
        body: submitSchema,
        response: { 201: evidenceSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const record = await loadCase(principal, request.params.ref);
      const evidence = await submitConsentEvidence(await commandDepsOf(deps), {
        caseRef: record.ref,
        customerId: record.customerId,
        author: principal.name,
        recipients: request.body.recipients,
      });
      return reply.code(201).send(present(evidence, record.ref));
    },
  );

  typed(app).post(
    '/cases/:ref/consent-evidence/:id/decide',
    {
      onRequest: app.requireAuth(['admin', 'analyst']),
      schema: {
        tags: ['compliance'],
        summary: 'Accept (the case is marked cured) or reject (the ladder goes on) consent evidence',
        description: 'Audited. Evidence already decided is refused (409).',
        security: secured,
        params: caseParam.extend({ id: idParam }),
        body: decideSchema,
        response: {
          200: z
            .object({ evidence: evidenceSchema, caseStatus: z.string() })
            .meta({ id: 'ConsentEvidenceDecided' }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const record = await loadCase(principal, request.params.ref);
      const result = await decideConsentEvidence(await commandDepsOf(deps), {
        caseRef: record.ref,
        id: request.params.id,
        decision: request.body.decision,
        analyst: analystOf(principal),
        ...(request.body.note ? { note: request.body.note } : {}),
      });
      return { evidence: present(result.evidence, record.ref), caseStatus: result.caseStatus };
    },
  );
};
