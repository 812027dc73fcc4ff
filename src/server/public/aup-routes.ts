import type { FastifyInstance } from 'fastify';
import { diffPolicies } from '../../policy/policy-diff.js';
import { renderDiffPage, renderDmcaPage, renderPolicyPage, versionTimeline } from './policy-pages.js';
import type { PublicContext } from './public-context.js';
import { messagePage } from './public-layout.js';
import { renderSecurityTxt } from './security-txt.js';

/**
 * The published policy: the version in force, a version, the changes between two, the DMCA agent page and
 * security.txt.
 */
export function aupRoutes(app: FastifyInstance, ctx: PublicContext): void {
  const { options, pageConfig, originOf, sendHtml, notFound, policyHistory, currentDocument } = ctx;
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
}
