import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AupError } from '../../errors.js';
import type { ResolvedAppDeps } from '../app-deps.js';

/** What every API resource plugin receives. */
export interface ApiPluginOptions {
  readonly deps: ResolvedAppDeps;
}

export function typed(app: FastifyInstance) {
  return app.withTypeProvider<ZodTypeProvider>();
}

/** OpenAPI security requirement: either credential works. */
export const secured: Array<Record<string, string[]>> = [{ apiKey: [] }, { session: [] }];

/** The problem-details body, for the OpenAPI document. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.string(),
    requestId: z.string(),
    errors: z.array(z.object({ in: z.string(), pointer: z.string(), message: z.string() })).optional(),
  })
  .loose()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details' });

/** Standard error answers documented on every secured route. */
export const errorResponses = {
  400: problemSchema,
  401: problemSchema,
  403: problemSchema,
  404: problemSchema,
} as const;

/**
 * Opaque keyset cursors: base64url of `{"id":n}`. Anything else is a 400 naming the parameter (never a
 * database error from a crafted value).
 */
export function encodeCursor(id: number | null): string | null {
  return id === null ? null : Buffer.from(JSON.stringify({ id })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = z
      .object({
        id: z
          .number()
          .int()
          .positive()
          .max(2 ** 31 - 1),
      })
      .strict()
      .parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    return parsed.id;
  } catch {
    throw new AupError('AUP_ERR_INPUT_INVALID', 'cursor is not one this API returned', {
      details: { field: 'cursor' },
    });
  }
}

export const pageQuery = {
  cursor: z.string().max(200).optional().describe('the `nextCursor` of the previous page'),
  limit: z.coerce.number().int().min(1).max(200).default(50).describe('page size (1-200, default 50)'),
};

export const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Database ids in paths: positive 32-bit integers. */
export const idParam = z.coerce
  .number()
  .int()
  .positive()
  .max(2 ** 31 - 1);
