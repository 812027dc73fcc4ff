import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { principalKey } from '../../accounts/principal.js';
import { caseRefOf } from '../../cases/case-ref.js';
import {
  getTriageItem,
  listTriageItems,
  recordFailedIntake,
  type TriageItem,
} from '../../cases/triage-repository.js';
import {
  attachTriageItem,
  classifyTriageItem,
  dismissTriageItem,
  openCaseFromTriage,
  retryTriageItem,
  type TriageDecision,
} from '../../enforcement/commands/triage-commands.js';
import { notActionableTemplates } from '../../enforcement/notices/ack-templates.js';
import { AupError } from '../../errors.js';
import { triageReasons } from '../../store/tables/triage.table.js';
import { principalOf } from '../plugins/auth-plugin.js';
import {
  type ApiPluginOptions,
  analystOf,
  commandDepsOf,
  errorResponses,
  idParam,
  iso,
  problemSchema,
  secured,
  typed,
} from './api-support.js';

/**
 * The triage queue under `/api/v1/triage`: what opened no case, oldest first, with its reason; and the
 * analyst's five choices about an item (classify, attach, open-case, not-actionable, retry), each one of
 * the commands of src/enforcement/commands/triage-commands.ts (audited, one transaction). Staff only: the
 * queue names reporters and customers alike.
 */

export const triageItemSchema = z
  .object({
    id: z.number().int(),
    reason: z.enum(triageReasons),
    detail: z.string(),
    reportId: z.number().int().nullable().describe('the report (GET /reports/{id} by its inbox id)'),
    inboxId: z.string().nullable().describe('the intake item, for a failed one'),
    eventIds: z.array(z.number().int()),
    bestGuess: z.string().nullable().describe("the parser's or judgement's class (taxonomy/type)"),
    serviceId: z.number().int().nullable(),
    channel: z.string(),
    receivedAt: z.string(),
    ageSeconds: z.number().int(),
    status: z.enum(['open', 'resolved']),
    resolution: z.string().nullable(),
    resolvedBy: z.string().nullable(),
    resolvedAt: z.string().nullable(),
    caseRef: z.string().nullable(),
    note: z.string().nullable(),
  })
  .meta({ id: 'TriageItem' });

const decisionSchema = z
  .object({
    item: triageItemSchema,
    caseRef: z.string().nullable(),
    detail: z.string(),
    actions: z.array(z.string()).describe('outbox keys queued (a notice, a reply to the reporter)'),
  })
  .meta({ id: 'TriageDecision' });

export function presentTriageItem(t: TriageItem, now: Date): z.infer<typeof triageItemSchema> {
  return {
    id: t.id,
    reason: t.reason,
    detail: t.detail,
    reportId: t.reportId,
    inboxId: t.inboxId,
    eventIds: [...t.eventIds],
    bestGuess: t.bestGuess,
    serviceId: t.serviceId,
    channel: t.channel,
    receivedAt: iso(t.receivedAt)!,
    ageSeconds: Math.max(0, Math.floor((now.getTime() - t.receivedAt.getTime()) / 1000)),
    status: t.status,
    resolution: t.resolution,
    resolvedBy: t.resolvedBy,
    resolvedAt: iso(t.resolvedAt),
    caseRef: t.caseId === null ? null : caseRefOf(t.caseId),
    note: t.note,
  };
}

/** Queue cursors: base64url of `{"at":iso,"id":n}` (the queue is ordered by receipt, then id). */
function encodeQueueCursor(item: TriageItem | undefined): string | null {
  return item
    ? Buffer.from(JSON.stringify({ at: item.receivedAt.toISOString(), id: item.id })).toString('base64url')
    : null;
}

function decodeQueueCursor(cursor: string | undefined): { receivedAt: Date; id: number } | undefined {
  if (cursor === undefined) return undefined;
  try {
    const c = z
      .object({ at: z.iso.datetime(), id: z.number().int().positive() })
      .strict()
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return { receivedAt: new Date(c.at), id: c.id };
  } catch {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'cursor is not one this API returned', {
      details: { field: 'cursor' },
    });
  }
}

export const triageRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  const staff = app.requireAuth(['admin', 'analyst']);

  typed(app).get(
    '/triage',
    {
      onRequest: staff,
      schema: {
        tags: ['triage'],
        summary: 'The triage queue: reports and events that opened no case, oldest first',
        security: secured,
        querystring: z.object({
          status: z.enum(['open', 'resolved', 'all']).default('open'),
          reason: z.enum(triageReasons).optional(),
          cursor: z.string().max(300).optional().describe('the `nextCursor` of the previous page'),
          limit: z.coerce
            .number()
            .int()
            .min(1)
            .max(200)
            .default(50)
            .describe('page size (1-200, default 50)'),
        }),
        response: {
          200: z.object({ items: z.array(triageItemSchema), nextCursor: z.string().nullable() }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const now = deps.clock.now();
      await recordFailedIntake(db, now);
      const q = request.query;
      const rows = await listTriageItems(db, {
        status: q.status,
        reason: q.reason,
        after: decodeQueueCursor(q.cursor),
        limit: q.limit + 1,
      });
      const page = rows.slice(0, q.limit);
      return {
        items: page.map((t) => presentTriageItem(t, now)),
        nextCursor: rows.length > page.length ? encodeQueueCursor(page.at(-1)) : null,
      };
    },
  );

  typed(app).get(
    '/triage/:id',
    {
      onRequest: staff,
      schema: {
        tags: ['triage'],
        summary: 'One triage item',
        security: secured,
        params: z.object({ id: idParam }),
        response: { 200: triageItemSchema, ...errorResponses },
      },
    },
    async (request) => {
      const item = await getTriageItem(db, request.params.id);
      if (!item) throw new AupError('AUP_ERR_NOT_FOUND', `triage item ${request.params.id} does not exist`);
      return presentTriageItem(item, deps.clock.now());
    },
  );

  const note = { note: z.string().max(20_000).optional().describe('why, for the record') };
  const decision = <B extends z.ZodObject>(
    name: string,
    summary: string,
    body: B,
    run: (
      d: Awaited<ReturnType<typeof commandDepsOf>>,
      input: { item: number; analyst: string } & z.output<B>,
    ) => Promise<TriageDecision>,
  ) =>
    typed(app).post(
      `/triage/:id/${name}`,
      {
        onRequest: staff,
        schema: {
          tags: ['triage'],
          summary,
          security: secured,
          params: z.object({ id: idParam }),
          body,
          response: { 200: decisionSchema, ...errorResponses, 422: problemSchema },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const result = await run(await commandDepsOf(deps), {
          ...(request.body as z.output<B>),
          item: request.params.id,
          analyst: analystOf(principal),
        });
        request.log.info(
          { triage: request.params.id, decision: name, by: principalKey(principal) },
          'triage',
        );
        return {
          item: presentTriageItem(result.item, deps.clock.now()),
          caseRef: result.caseRef,
          detail: result.detail,
          actions: [...result.actions],
        };
      },
    );

  decision(
    'classify',
    'Give the class; judged again under the binding version, a violation opens a case',
    z.object({ ...note, classification: z.string().max(100).describe('taxonomy/type') }),
    classifyTriageItem,
  );
  decision(
    'attach',
    "Attach the item's report and events to an existing case",
    z.object({ ...note, caseRef: z.string().max(40) }),
    attachTriageItem,
  );
  decision(
    'open-case',
    'Open a case from the item under a chosen clause (service: default the one the item names)',
    z.object({
      ...note,
      service: z.string().max(200).optional(),
      clause: z.string().max(200),
      reason: z.string().max(20_000),
    }),
    openCaseFromTriage,
  );
  decision(
    'not-actionable',
    'Close the item; the reporter gets the chosen reply through the outbox',
    z.object({ ...note, template: z.enum(notActionableTemplates).optional() }),
    dismissTriageItem,
  );
  decision('retry', 'Queue a failed intake item again', z.object(note), retryTriageItem);
};
