import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { auditActorOf } from '../../accounts/principal.js';
import { publishPolicyWithNotices } from '../../compliance/publish-policy-version.js';
import { AupError } from '../../errors.js';
import { parsePolicySource } from '../../policy/policy-loader.js';
import {
  getPolicyVersion,
  listPolicyVersions,
  listProviders,
  type PolicyVersionSummary,
} from '../../policy/policy-repository.js';
import { principalOf } from '../plugins/auth-plugin.js';
import { type ApiPluginOptions, errorResponses, problemSchema, secured, typed } from './api-support.js';

/**
 * Published policies: list providers and their versions, read one version (document and the YAML exactly as
 * published), publish a new version from YAML (admins only). Versions are immutable: publishing the same
 * YAML again is `unchanged`, different YAML under an existing version is 409.
 */

const versionSchema = z
  .object({
    provider: z.string(),
    version: z.string(),
    publishedAt: z.string(),
    effectiveAt: z.string(),
    sha256: z.string(),
  })
  .meta({ id: 'PolicyVersion' });

const providerSchema = z
  .object({ id: z.string(), name: z.string(), versions: z.array(versionSchema) })
  .meta({ id: 'PolicyProvider' });

const versionDetailSchema = versionSchema
  .extend({
    document: z
      .record(z.string(), z.unknown())
      .describe('the validated policy document (docs/policy-format.md)'),
    source: z.string().describe('the YAML exactly as published'),
  })
  .meta({ id: 'PolicyVersionDetail' });

const publishResultSchema = z
  .object({
    provider: z.string(),
    version: z.string(),
    status: z.enum(['published', 'unchanged']),
    sha256: z.string(),
    notices: z
      .object({
        announced: z
          .boolean()
          .describe("whether the previous version's change terms promise customers a mail"),
        reason: z.string(),
        material: z.boolean().nullable(),
        from: z.string().nullable().describe('the previous version'),
        queued: z.array(z.string()).describe('customers told now (one mail.policy-change each)'),
        alreadyQueued: z.array(z.string()).describe('customers told by an earlier publish'),
        unreachable: z.array(z.string()).describe('customers without a notice address'),
      })
      .describe('the change announcement (docs/compliance.md)'),
  })
  .meta({ id: 'PolicyPublishResult' });

const providerParam = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a provider id (lower-case, digits, -)');
const versionParam = z.string().min(1).max(100);

function presentVersion(v: PolicyVersionSummary): z.infer<typeof versionSchema> {
  return {
    provider: v.provider,
    version: v.version,
    publishedAt: v.publishedAt,
    effectiveAt: v.effectiveAt,
    sha256: v.sha256,
  };
}

export const policyRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  const db = deps.store.db;
  app.addContentTypeParser(
    ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'],
    { parseAs: 'string', bodyLimit: 2 * 1024 * 1024 },
    (_request, body, done) => done(null, body),
  );

  typed(app).get(
    '/policies',
    {
      onRequest: app.requireAuth(),
      schema: {
        tags: ['policies'],
        summary: 'Providers and their published policy versions',
        security: secured,
        response: { 200: z.object({ items: z.array(providerSchema) }), ...errorResponses },
      },
    },
    async () => {
      const [providers, versions] = await Promise.all([listProviders(db), listPolicyVersions(db)]);
      return {
        items: providers.map((p) => ({
          id: p.id,
          name: p.name,
          versions: versions.filter((v) => v.provider === p.id).map(presentVersion),
        })),
      };
    },
  );

  typed(app).get(
    '/policies/:provider',
    {
      onRequest: app.requireAuth(),
      schema: {
        tags: ['policies'],
        summary: "One provider's versions, by effective date",
        security: secured,
        params: z.object({ provider: providerParam }),
        response: { 200: providerSchema, ...errorResponses },
      },
    },
    async (request) => {
      const provider = (await listProviders(db)).find((p) => p.id === request.params.provider);
      if (!provider)
        throw new AupError('AUP_ERR_NOT_FOUND', `no policy of provider "${request.params.provider}"`);
      const versions = await listPolicyVersions(db, provider.id);
      return { id: provider.id, name: provider.name, versions: versions.map(presentVersion) };
    },
  );

  typed(app).get(
    '/policies/:provider/:version',
    {
      onRequest: app.requireAuth(),
      schema: {
        tags: ['policies'],
        summary: 'One published version: its document and YAML source',
        security: secured,
        params: z.object({ provider: providerParam, version: versionParam }),
        response: { 200: versionDetailSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { provider, version } = request.params;
      const loaded = await getPolicyVersion(db, provider, version);
      const summary = (await listPolicyVersions(db, provider)).find((v) => v.version === version);
      if (!loaded || !summary)
        throw new AupError('AUP_ERR_NOT_FOUND', `policy ${provider} ${version} is not published`);
      return {
        ...presentVersion(summary),
        document: JSON.parse(JSON.stringify(loaded.document)) as Record<string, unknown>,
        source: loaded.source,
      };
    },
  );

  typed(app).post(
    '/policies',
    {
      onRequest: app.requireAuth(['admin']),
      schema: {
        tags: ['policies'],
        summary: 'Publish a new policy version from its YAML document',
        description:
          'Body: the policy YAML (application/yaml). Problems name line, column and document path.',
        security: secured,
        consumes: ['application/yaml'],
        response: {
          201: publishResultSchema,
          200: publishResultSchema,
          ...errorResponses,
          409: problemSchema,
          415: problemSchema,
          422: problemSchema,
        },
      },
    },
    async (request, reply) => {
      if (typeof request.body !== 'string' || request.body.trim() === '') {
        throw new AupError('AUP_ERR_INPUT_INVALID', 'the body must be a policy document in YAML');
      }
      const loaded = parsePolicySource(request.body, 'upload.yaml');
      const result = await publishPolicyWithNotices(db, loaded, {
        at: deps.clock.now(),
        actor: auditActorOf(principalOf(request)),
        publicUrl: deps.http.publicUrl,
      });
      const n = result.notices;
      return reply.code(result.status === 'published' ? 201 : 200).send({
        ...result,
        notices: {
          ...n,
          queued: [...n.queued],
          alreadyQueued: [...n.alreadyQueued],
          unreachable: [...n.unreachable],
        },
      });
    },
  );
};
