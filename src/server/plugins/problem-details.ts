import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { AupError, type ErrorCode, errorCatalogue, isAupError } from '../../errors.js';

/**
 * RFC 9457 problem details for every error the HTTP server answers with: domain errors (`AupError`, status
 * from the catalogue), request validation (which field, why), and Fastify's own (unknown route, oversize
 * body, wrong content type, unparseable JSON, rate limit). 5xx answers never carry the error's message or
 * stack: they are logged with the request id, which the answer gives as `requestId`.
 *
 * `type` is `urn:aupdesk:problem:<code>`; docs/errors.md explains each code.
 */

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export interface FieldProblem {
  /** `body`, `querystring`, `params` or `headers`. */
  readonly in: string;
  /** JSON pointer into that part of the request, `/` for the whole of it. */
  readonly pointer: string;
  readonly message: string;
}

export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly code: ErrorCode;
  readonly requestId: string;
  readonly errors?: readonly FieldProblem[];
  readonly [extension: string]: unknown;
}

export function problemType(code: ErrorCode): string {
  return `urn:aupdesk:problem:${code}`;
}

export function problemOf(
  request: FastifyRequest,
  code: ErrorCode,
  detail: string,
  extensions: Record<string, unknown> = {},
): ProblemDetails {
  const spec = errorCatalogue[code];
  return {
    ...extensions,
    type: problemType(code),
    title: spec.title,
    status: spec.status,
    detail,
    instance: request.url.split('?')[0] ?? '/',
    code,
    requestId: String(request.id),
  };
}

export function sendProblem(reply: FastifyReply, problem: ProblemDetails): FastifyReply {
  return reply.code(problem.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Fastify's own error codes (and those of the plugins we use) mapped onto ours. */
const fastifyCodes: Readonly<Record<string, ErrorCode>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'AUP_ERR_HTTP_BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'AUP_ERR_HTTP_BODY_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'AUP_ERR_HTTP_BAD_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'AUP_ERR_HTTP_BAD_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  FST_REQ_FILE_TOO_LARGE: 'AUP_ERR_HTTP_BODY_TOO_LARGE',
  FST_FILES_LIMIT: 'AUP_ERR_HTTP_BODY_TOO_LARGE',
  FST_FIELDS_LIMIT: 'AUP_ERR_HTTP_BODY_TOO_LARGE',
  FST_PARTS_LIMIT: 'AUP_ERR_HTTP_BODY_TOO_LARGE',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_RATE_LIMIT: 'AUP_ERR_HTTP_RATE_LIMITED',
};

/** The problem an error becomes; `internal` is true when it must be logged as a server fault. */
export function problemForError(
  request: FastifyRequest,
  error: unknown,
): { problem: ProblemDetails; internal: boolean } {
  if (isAupError(error)) {
    const extensions = error.details ? { details: error.details } : {};
    if (error.status >= 500) {
      return { problem: problemOf(request, error.code, internalDetail(error.code), {}), internal: true };
    }
    return { problem: problemOf(request, error.code, error.message, extensions), internal: false };
  }
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = (error as FastifyError).validationContext ?? 'body';
    const errors: FieldProblem[] = error.validation.map((v) => ({
      in: String(where),
      pointer: v.instancePath || '/',
      message: v.message ?? 'invalid',
    }));
    const first = errors[0];
    const detail = first
      ? `${where}${first.pointer === '/' ? '' : ` field ${first.pointer.slice(1).replaceAll('/', '.')}`}: ${first.message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`
      : `${where} is invalid`;
    return { problem: problemOf(request, 'AUP_ERR_INPUT_INVALID', detail, { errors }), internal: false };
  }
  if (error instanceof Error && isResponseSerializationError(error as never)) {
    return {
      problem: problemOf(request, 'AUP_ERR_INTERNAL', internalDetail('AUP_ERR_INTERNAL')),
      internal: true,
    };
  }
  const fe = error as Partial<FastifyError> & { statusCode?: number };
  const mapped = fe.code !== undefined ? fastifyCodes[fe.code] : undefined;
  if (mapped) return { problem: problemOf(request, mapped, fastifyDetail(mapped, fe)), internal: false };
  if (error instanceof SyntaxError && fe.statusCode === 400) {
    return {
      problem: problemOf(request, 'AUP_ERR_HTTP_BAD_JSON', `the body is not valid JSON: ${error.message}`),
      internal: false,
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code: ErrorCode =
      fe.statusCode === 404
        ? 'AUP_ERR_NOT_FOUND'
        : fe.statusCode === 413
          ? 'AUP_ERR_HTTP_BODY_TOO_LARGE'
          : fe.statusCode === 415
            ? 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE'
            : fe.statusCode === 429
              ? 'AUP_ERR_HTTP_RATE_LIMITED'
              : 'AUP_ERR_HTTP_BAD_REQUEST';
    return { problem: problemOf(request, code, safeMessage(fe.message ?? 'bad request')), internal: false };
  }
  return {
    problem: problemOf(request, 'AUP_ERR_INTERNAL', internalDetail('AUP_ERR_INTERNAL')),
    internal: true,
  };
}

/** Installs the error and not-found handlers at the root; every plugin inherits them. */
export function registerProblemDetails(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    const { problem, internal } = problemForError(request, error);
    if (internal) request.log.error({ err: error, requestId: request.id }, 'request failed');
    else request.log.info({ code: problem.code, status: problem.status }, problem.detail);
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problemOf(
        request,
        'AUP_ERR_HTTP_ROUTE_NOT_FOUND',
        `no route ${request.method} ${request.url.split('?')[0] ?? ''}`,
      ),
    ),
  );
}

function internalDetail(code: ErrorCode): string {
  return code === 'AUP_ERR_STORE_UNAVAILABLE'
    ? 'the store is unavailable; try again shortly'
    : 'an internal error occurred; it has been logged under this request id';
}

function fastifyDetail(code: ErrorCode, fe: Partial<FastifyError>): string {
  switch (code) {
    case 'AUP_ERR_HTTP_BAD_JSON':
      return `the body is not valid JSON: ${safeMessage(fe.message ?? '')}`;
    case 'AUP_ERR_HTTP_BODY_TOO_LARGE':
      return 'the request body is larger than this endpoint accepts';
    case 'AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE':
      return `this endpoint does not accept that content type: ${safeMessage(fe.message ?? '')}`;
    case 'AUP_ERR_HTTP_RATE_LIMITED':
      return 'too many requests; see Retry-After';
    default:
      return safeMessage(fe.message ?? 'bad request');
  }
}

/** Fastify's 4xx messages are safe to show; cap their length anyway (they may echo input). */
function safeMessage(message: string): string {
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** For handlers: throw a problem with a code and message (an `AupError`). */
export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new AupError(code, message, details ? { details } : undefined);
}
