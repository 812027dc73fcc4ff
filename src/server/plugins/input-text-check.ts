import type { FastifyInstance } from 'fastify';
import { hasUnstorableText } from '../../store/store-safe-text.js';
import { type FieldProblem, problemOf, sendProblem } from './problem-details.js';

/**
 * One check for every route: a request whose body, query string or path parameters carry a character the
 * store refuses as text (NUL, an unpaired surrogate) is answered 400 naming the field, before any handler
 * runs. Mail and files keep such bytes (they are evidence, stored as bytes); typed HTTP fields have no
 * business holding them, so the caller is told rather than having the text silently altered.
 */

const PARTS = [
  ['body', (r: { body?: unknown }) => r.body],
  ['querystring', (r: { query?: unknown }) => r.query],
  ['params', (r: { params?: unknown }) => r.params],
] as const;

export function registerInputTextCheck(app: FastifyInstance): void {
  app.addHook('preValidation', async (request, reply) => {
    for (const [where, read] of PARTS) {
      const pointer = findUnstorable(read(request), '', 0);
      if (pointer === undefined) continue;
      const field = pointer === '' ? '' : ` field ${pointer.slice(1).replaceAll('/', '.')}`;
      const message = 'contains a character that cannot be stored as text (NUL or an unpaired surrogate)';
      const errors: FieldProblem[] = [{ in: where, pointer: pointer || '/', message }];
      return sendProblem(
        reply,
        problemOf(request, 'AUP_ERR_INPUT_INVALID', `${where}${field}: ${message}`, { errors }),
      );
    }
    return undefined;
  });
}

/** JSON pointer of the first string (or key) holding an unstorable character, or undefined. */
function findUnstorable(value: unknown, pointer: string, depth: number): string | undefined {
  if (typeof value === 'string') return hasUnstorableText(value) ? pointer : undefined;
  // Bodies are bounded in size; the depth bound only guards the recursion against pathological nesting.
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return undefined;
  const entries: Array<[string, unknown]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, child] of entries) {
    const here = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (hasUnstorableText(key)) return here;
    const found = findUnstorable(child, here, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
