import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { type Principal, principalKey } from '../../accounts/principal.js';
import { caseIdFromRef } from '../../cases/case-ref.js';
import { type CaseRecord, type CaseSummary, getCase } from '../../cases/case-repository.js';
import { caseStatuses } from '../../cases/case-state.js';
import { listCaseMessages, listCaseNotes } from '../../cases/message-repository.js';
import { searchCases } from '../../cases/queries/case-search.js';
import { listCaseEvents } from '../../cases/report-repository.js';
import type { CaseCommandDeps } from '../../enforcement/commands/case-command.js';
import { caseCommandNamed, caseCommands } from '../../enforcement/commands/case-commands.js';
import { AupError } from '../../errors.js';
import { listProviders, loadPolicyHistoryFromStore } from '../../policy/policy-repository.js';
import { assertOwnCustomer, principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  decodeCursor,
  encodeCursor,
  errorResponses,
  iso,
  pageQuery,
  problemSchema,
  secured,
  typed,
} from './api-support.js';

/**
 * Cases: list with filters (state, clause, customer, service, due before; keyset cursor), read one with its
 * events, messages and notes, and act on it through the analyst commands of src/enforcement/commands (each
 * appends the intervention, re-runs the ladder and writes its audit entry in one transaction).
 *
 * A customer principal sees only its own cases, without analyst notes or reporter correspondence; another
 * customer's case answers 404. Actions are for staff.
 */

const caseSummarySchema = z
  .object({
    id: z.number().int(),
    ref: z.string(),
    status: z.enum(caseStatuses),
    clause: z.string(),
    customerRef: z.string(),
    serviceRef: z.string(),
    severity: z.string(),
    openedAt: z.string(),
    lastEventAt: z.string(),
    dueAt: z.string().nullable(),
    assignedTo: z.string().nullable(),
    repeatCount: z.number().int(),
  })
  .meta({ id: 'CaseSummary' });

const caseEventSchema = z
  .object({
    id: z.number().int(),
    time: z.string(),
    classification: z.string(),
    sourceIp: z.string().nullable(),
    sourceFqdn: z.string().nullable(),
    sourceUrl: z.string().nullable(),
    clause: z.string().nullable(),
    evidenceReportId: z.number().int(),
  })
  .meta({ id: 'CaseEvent' });

const caseMessageSchema = z
  .object({
    id: z.number().int(),
    direction: z.enum(['in', 'out']),
    kind: z.string(),
    subject: z.string().nullable(),
    sender: z.string().nullable(),
    recipient: z.string().nullable(),
    body: z.string().nullable(),
    at: z.string(),
  })
  .meta({ id: 'CaseMessage' });

const caseNoteSchema = z
  .object({ id: z.number().int(), author: z.string(), text: z.string(), at: z.string() })
  .meta({ id: 'CaseNote' });

const caseDetailSchema = caseSummarySchema
  .extend({
    provider: z.string(),
    policyVersion: z.string(),
    firstEventAt: z.string(),
    windowEndsAt: z.string(),
    events: z.array(caseEventSchema),
    messages: z.array(caseMessageSchema),
    notes: z.array(caseNoteSchema).describe('analyst notes (staff only; empty for customers)'),
  })
  .meta({ id: 'Case' });

const actionResultSchema = z
  .object({
    case: caseSummarySchema,
    outcome: z.string().describe("the engine's account of what happened (an ignored command says why)"),
    actions: z.array(z.string()).describe('outbox keys of actions this command enqueued'),
  })
  .meta({ id: 'CaseActionResult' });

const caseParam = z.object({
  ref: z
    .string()
    .regex(/^(AUP-[0-9]{6,}|[0-9]{1,10})$/, 'must be a case reference (AUP-000123) or id')
    .describe('case reference (AUP-000123) or numeric id'),
});

/** Messages a customer may read on its own case: what was sent to it and what it sent. */
const CUSTOMER_MESSAGE_KINDS = new Set(['notice', 'reply']);

export function presentCaseSummary(c: CaseSummary): z.infer<typeof caseSummarySchema> {
  return {
    id: c.id,
    ref: c.ref,
    status: c.status,
    clause: c.clauseId,
    customerRef: c.customerRef,
    serviceRef: c.serviceRef,
    severity: c.severity,
    openedAt: iso(c.openedAt)!,
    lastEventAt: iso(c.lastEventAt)!,
    dueAt: iso(c.dueAt),
    assignedTo: c.assignedTo,
    repeatCount: c.repeatCount,
  };
}

function summaryOfRecord(c: CaseRecord): z.infer<typeof caseSummarySchema> {
  return presentCaseSummary({ ...c, clauseId: c.clauseId });
}

export const caseRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  /** The case a principal may see, or 404 (unknown, or another customer's). */
  const loadCase = async (principal: Principal, ref: string): Promise<CaseRecord> => {
    const id = /^[0-9]+$/.test(ref) ? Number(ref) : caseIdFromRef(ref);
    const record = await getCase(db, id);
    if (!record) throw new AupError('AUP_ERR_NOT_FOUND', `case ${ref} does not exist`);
    assertOwnCustomer(principal, record.customerId, `case ${ref}`);
    return record;
  };

  /** The engine needs every provider's policy history; read fresh, since policies can be published live. */
  const commandDeps = async (): Promise<CaseCommandDeps> => {
    if (deps.caseCommands) return deps.caseCommands;
    const providers = await listProviders(db);
    const policies = await Promise.all(providers.map((p) => loadPolicyHistoryFromStore(db, p.id)));
    return { db, clock: deps.clock, policies, messageIdDomain: deps.messageIdDomain ?? 'aupdesk.invalid' };
  };

  typed(app).get(
    '/cases',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'customer']),
      schema: {
        tags: ['cases'],
        summary: 'Cases, newest first, filtered',
        security: secured,
        querystring: z.object({
          ...pageQuery,
          state: z
            .string()
            .max(300)
            .optional()
            .transform((s) => (s === undefined ? undefined : s.split(',').map((x) => x.trim())))
            .pipe(z.array(z.enum(caseStatuses)).optional())
            .describe(`one or more states, comma-separated: ${caseStatuses.join(', ')}`),
          clause: z.string().max(100).optional(),
          customer: z.string().max(200).optional().describe('customer ref'),
          service: z.string().max(200).optional().describe('service ref'),
          dueBefore: z.iso.datetime({ offset: true }).optional().describe('next step due before this time'),
        }),
        response: {
          200: z.object({ items: z.array(caseSummarySchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      const beforeId = decodeCursor(q.cursor);
      const page = await searchCases(db, {
        ...(q.state ? { statuses: q.state } : {}),
        ...(q.clause !== undefined ? { clauseId: q.clause } : {}),
        ...(q.customer !== undefined ? { customerRef: q.customer } : {}),
        ...(q.service !== undefined ? { serviceRef: q.service } : {}),
        ...(q.dueBefore !== undefined ? { dueBefore: new Date(q.dueBefore) } : {}),
        // A customer's list is always narrowed to its own customer, whatever else it asks for.
        ...(principal.role === 'customer' && principal.customerId !== null
          ? { customerId: principal.customerId }
          : {}),
        ...(beforeId !== undefined ? { beforeId } : {}),
        limit: q.limit,
      });
      return { items: page.items.map(presentCaseSummary), nextCursor: encodeCursor(page.nextBeforeId) };
    },
  );

  typed(app).get(
    '/cases/:ref',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'customer']),
      schema: {
        tags: ['cases'],
        summary: 'One case with its events, messages and notes',
        security: secured,
        params: caseParam,
        response: { 200: caseDetailSchema, ...errorResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const record = await loadCase(principal, request.params.ref);
      const isCustomer = principal.role === 'customer';
      const [events, messages, notes] = await Promise.all([
        listCaseEvents(db, { caseId: record.id }),
        listCaseMessages(db, record.id),
        isCustomer ? Promise.resolve([]) : listCaseNotes(db, record.id),
      ]);
      return {
        ...summaryOfRecord(record),
        provider: record.providerId,
        policyVersion: record.policyVersion,
        firstEventAt: iso(record.firstEventAt)!,
        windowEndsAt: iso(record.windowEndsAt)!,
        events: events.map((e) => ({
          id: e.id,
          time: iso(e.eventTime)!,
          classification: e.classification,
          sourceIp: e.sourceIp,
          sourceFqdn: e.sourceFqdn,
          sourceUrl: e.sourceUrl,
          clause: e.clauseId,
          evidenceReportId: e.reportId,
        })),
        messages: messages
          .filter((m) => !isCustomer || CUSTOMER_MESSAGE_KINDS.has(m.kind))
          .map((m) => ({
            id: m.id,
            direction: m.direction,
            kind: m.kind,
            subject: m.subject,
            sender: m.sender,
            recipient: m.recipient,
            body: m.body,
            at: iso(m.at)!,
          })),
        notes: notes.map((n) => ({ id: n.id, author: n.author, text: n.text, at: iso(n.at)! })),
      };
    },
  );

  typed(app).post(
    '/cases/:ref/notes',
    {
      onRequest: staff,
      schema: {
        tags: ['cases'],
        summary: 'Add an analyst note',
        security: secured,
        params: caseParam,
        body: z.object({ text: z.string().trim().min(1).max(20_000) }),
        response: { 201: z.object({ id: z.number().int(), case: z.string() }), ...errorResponses },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const record = await loadCase(principal, request.params.ref);
      // The table's add-note, routed as the creation of a note resource (201 with the note's id).
      const result = await caseCommandNamed('add-note').run(await commandDeps(), {
        caseRef: record.ref,
        analyst: analystOf(principal),
        text: request.body.text,
      });
      return reply.code(201).send({ id: result.noteId ?? 0, case: result.caseRef });
    },
  );

  /**
   * One route per command of the case-command table (src/enforcement/commands/case-commands.ts):
   * `POST /cases/:ref/<name>` with the command's input as the body.
   */
  for (const entry of caseCommands) {
    if (entry.apiRoute === false) continue;
    typed(app).post(
      `/cases/:ref/${entry.name}`,
      {
        onRequest: staff,
        schema: {
          tags: ['cases'],
          summary: entry.summary,
          security: secured,
          params: caseParam,
          body: entry.input,
          response: { 200: actionResultSchema, ...errorResponses, 409: problemSchema, 422: problemSchema },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const record = await loadCase(principal, request.params.ref);
        const input = { ...(request.body as object), caseRef: record.ref, analyst: analystOf(principal) };
        const result = await entry.run(await commandDeps(), input);
        request.log.info(
          { case: record.ref, action: entry.name, by: principalKey(principal) },
          'case action',
        );
        // Every routed command answers with its case; one that changed none, with the case as it stands.
        const current = result.case ?? (await loadCase(principal, result.caseRef));
        return { case: summaryOfRecord(current), outcome: result.detail, actions: [...result.actions] };
      },
    );
  }
};

/** The analyst name the commands record (`user:<name>` in the audit log): the e-mail, or the key's prefix. */
function analystOf(principal: Principal): string {
  return principal.name.replace(/\s+/g, '_').slice(0, 100);
}
