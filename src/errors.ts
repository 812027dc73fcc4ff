/**
 * The one error catalogue. Domain code throws `AupError` with a code from here; only the HTTP layer maps a
 * code to a status (RFC 9457 problem details) and only the CLI maps it to an exit message. Never classify
 * an error by matching its message text: match `error.code`.
 *
 * Every code must be documented in docs/errors.md (a test checks it).
 */

export interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Short human title, stable per code (RFC 9457 `title`). */
  readonly title: string;
}

export const errorCatalogue = {
  AUP_ERR_CONFIG_INVALID: { status: 500, title: 'Invalid configuration' },
  AUP_ERR_STORE_UNAVAILABLE: { status: 503, title: 'Store unavailable' },
  AUP_ERR_STORE_MIGRATION_FAILED: { status: 500, title: 'Migration failed' },
  AUP_ERR_STORE_CONFLICT: { status: 409, title: 'Conflicting record' },
  AUP_ERR_STORE_IN_USE: { status: 409, title: 'Embedded store in use by another process' },
  AUP_ERR_PARSE_POOL_CLOSED: { status: 503, title: 'Parsing stopped for shutdown' },
  AUP_ERR_NOT_FOUND: { status: 404, title: 'Not found' },
  AUP_ERR_INPUT_INVALID: { status: 400, title: 'Invalid input' },
  AUP_ERR_POLICY_FILE_UNREADABLE: { status: 400, title: 'Policy file unreadable' },
  AUP_ERR_POLICY_YAML_SYNTAX: { status: 400, title: 'Policy YAML syntax error' },
  AUP_ERR_POLICY_INVALID: { status: 422, title: 'Policy document invalid' },
  AUP_ERR_POLICY_VERSION_EXISTS: { status: 409, title: 'Policy version already published' },
  AUP_ERR_POLICY_NO_BINDING_VERSION: { status: 404, title: 'No policy version binds at that time' },
  AUP_ERR_REGISTRY_ROW_INVALID: { status: 422, title: 'Registry row invalid' },
  AUP_ERR_REGISTRY_OVERLAP: { status: 409, title: 'Assignment overlaps another' },
  AUP_ERR_REGISTRY_UNKNOWN_SERVICE: { status: 422, title: 'Unknown service' },
  AUP_ERR_ATTRIBUTION_BAD_QUERY: { status: 400, title: 'Not an IP address, domain or URL' },
  AUP_ERR_INTAKE_TOO_LARGE: { status: 413, title: 'Input too large' },
  AUP_ERR_INTAKE_UNPARSEABLE: { status: 422, title: 'Input could not be parsed' },
  AUP_ERR_EVIDENCE_BAD_HASH: { status: 400, title: 'Not a sha256 evidence id' },
  AUP_ERR_EVIDENCE_NOT_FOUND: { status: 404, title: 'Evidence not found' },
  AUP_ERR_EVIDENCE_CORRUPT: { status: 500, title: 'Evidence does not match its hash' },
  AUP_ERR_DMCA_STATE: { status: 409, title: 'DMCA record not in a state for that step' },
  AUP_ERR_LEGAL_STATE: { status: 409, title: 'Information request not in a state for that step' },
  AUP_ERR_ACTION_FAILED: { status: 502, title: 'Action failed at the far end' },
  AUP_ERR_ACTION_REJECTED: { status: 422, title: 'Action refused; retrying cannot help' },
  AUP_ERR_AUTH_REQUIRED: { status: 401, title: 'Authentication required' },
  AUP_ERR_AUTH_LOGIN_FAILED: { status: 401, title: 'Wrong e-mail or password' },
  AUP_ERR_AUTH_FORBIDDEN: { status: 403, title: 'Not allowed for this role' },
  AUP_ERR_AUTH_CSRF: { status: 403, title: 'Missing or wrong CSRF token' },
  AUP_ERR_HTTP_ROUTE_NOT_FOUND: { status: 404, title: 'No such route' },
  AUP_ERR_HTTP_BAD_JSON: { status: 400, title: 'Body is not valid JSON' },
  AUP_ERR_HTTP_BODY_TOO_LARGE: { status: 413, title: 'Request body too large' },
  AUP_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported content type' },
  AUP_ERR_HTTP_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  AUP_ERR_HTTP_BAD_REQUEST: { status: 400, title: 'Bad request' },
  AUP_ERR_INTERNAL: { status: 500, title: 'Internal error' },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalogue;

export class AupError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Structured detail for machines (RFC 9457 extension members); never secrets. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AupError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.details = options?.details;
  }
}

export function isAupError(value: unknown, code?: ErrorCode): value is AupError {
  return value instanceof AupError && (code === undefined || value.code === code);
}

/** Whether `error` is a Node system error with this `code` (`ENOENT`, `EEXIST`, …). */
export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
