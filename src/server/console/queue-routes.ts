import type { FastifyInstance } from 'fastify';
import { queueCases } from '../../cases/queries/case-queue.js';
import { policyHistories } from '../../enforcement/pipeline/case-transition.js';
import { AupError } from '../../errors.js';
import { page, sendPage } from '../views/layout.js';
import { shell } from '../views/page-support.js';
import { type ConsoleContext, consoleSpec } from './console-context.js';
import { filterOf, queueQuerySchema, renderQueue } from './queue-page.js';

/** The queue: filters, search, sort and paging over the open cases. */
export function queueRoutes(app: FastifyInstance, ctx: ConsoleContext): void {
  const { deps, db, enforcement } = ctx;
  app.get('/', async (request, reply) => {
    const parsed = queueQuerySchema.safeParse(request.query);
    if (!parsed.success)
      throw new AupError(
        'AUP_ERR_INPUT_INVALID',
        `bad filter: ${parsed.error.issues[0]?.path.join('.') ?? ''}`,
      );
    const now = deps.clock.now();
    const enf = await enforcement();
    const clauses = [
      ...new Set(
        policyHistories(enf).flatMap((h) => h.versions.flatMap((v) => v.document.clauses.map((c) => c.id))),
      ),
    ].sort();
    const result = await queueCases(db, filterOf(parsed.data, now));
    const s = shell(request, reply, consoleSpec, 'queue');
    return sendPage(
      reply,
      page({
        ...s,
        title: 'Queue',
        body: renderQueue({
          query: parsed.data,
          result,
          clauses,
          csrfToken: s.csrfToken,
          now,
          me: s.user.name,
        }),
      }),
    );
  });
}
