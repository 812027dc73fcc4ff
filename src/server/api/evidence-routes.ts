import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import { isStaff, principalKey } from '../../accounts/principal.js';
import { submittedBy } from '../../accounts/submission-repository.js';
import { AupError } from '../../errors.js';
import { assertSha256 } from '../../intake/evidence-store.js';
import { principalOf } from '../plugins/auth-plugin.js';
import { type ApiPluginOptions, errorResponses, secured, typed } from './api-support.js';

/**
 * Evidence download by sha256. The id is checked to be exactly 64 lowercase hex digits before anything
 * touches the file system, so no path can be smuggled in (`..`, `/`, encoded variants all fail the check
 * with 400). The bytes are re-hashed on read: a blob that no longer matches is refused, not served.
 *
 * Staff may fetch any evidence; a reporter only what it submitted. Customers do not get raw evidence: it
 * names the complainant, and a policy may promise to withhold that (notices carry the redacted excerpt).
 * The answer is `application/octet-stream` as an attachment, never rendered by a browser.
 */
export const evidenceRoutes: FastifyPluginAsync<ApiPluginOptions> = async (app, { deps }) => {
  typed(app).get(
    '/evidence/:sha256',
    {
      onRequest: app.requireAuth(['admin', 'analyst', 'reporter']),
      schema: {
        tags: ['evidence'],
        summary: 'Download stored evidence by its sha256',
        security: secured,
        params: z.object({ sha256: z.string().max(200) }),
        response: { 200: z.any().describe('the raw bytes (application/octet-stream)'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const sha256 = assertSha256(request.params.sha256);
      const principal = principalOf(request);
      if (!isStaff(principal) && !(await submittedBy(deps.store.db, principalKey(principal), sha256))) {
        throw new AupError('AUP_ERR_EVIDENCE_NOT_FOUND', `no evidence stored under ${sha256}`);
      }
      const bytes = await deps.evidenceStore.get(sha256);
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-disposition', `attachment; filename="${sha256}.bin"`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    },
  );
};
