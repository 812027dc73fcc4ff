import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type ProvisionPayload, provisionPayloadSchema } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';

/**
 * `provision.*` through an HTTP webhook: the provider's billing or provisioning system (a WHMCS addon, a
 * cPanel/WHM hook script, a Proxmox or OpenStack side-car) receives a signed JSON POST and suspends,
 * unsuspends, terminates or removes content.
 *
 * Contract (docs/enforcement.md):
 *   POST <url>, Content-Type: application/json
 *   body: {action, service, customer, case, reason, slaCreditEligible, urls, idempotencyKey, timestamp}
 *   X-Aupdesk-Timestamp: <unix seconds>
 *   X-Aupdesk-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
 *   Idempotency-Key: <key>   (stable across retries: the receiver answers a repeat with the first result)
 * Answer 2xx when done. 408, 429 and 5xx (and timeouts, connection errors) are retried by the outbox with
 * backoff; any other 4xx is permanent (the request itself is wrong) and the action goes dead for review.
 */

export const webhookConfigSchema = z
  .object({
    url: z.url(),
    /** Shared secret for the HMAC; at least 32 characters (generate with `openssl rand -hex 32`). */
    secret: z.string().min(32, 'the webhook secret must be at least 32 characters'),
    timeoutMs: z.number().int().positive().default(10_000),
    /** Extra headers (an API token the receiver also wants). */
    headers: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type WebhookConfig = z.input<typeof webhookConfigSchema>;

export interface ProvisioningRequestBody {
  readonly action: ProvisionPayload['operation'];
  readonly service: string;
  readonly customer: string;
  readonly case: string;
  readonly reason: string;
  readonly slaCreditEligible: boolean;
  readonly urls: string[];
  readonly idempotencyKey: string;
  /** ISO 8601 UTC, the moment of signing. */
  readonly timestamp: string;
}

export function provisioningBody(
  payload: ProvisionPayload,
  idempotencyKey: string,
  now: Date,
): ProvisioningRequestBody {
  return {
    action: payload.operation,
    service: payload.serviceId,
    customer: payload.customerId,
    case: payload.caseId,
    reason: payload.reason,
    slaCreditEligible: payload.slaCreditEligible,
    urls: payload.urls,
    idempotencyKey,
    timestamp: now.toISOString(),
  };
}

/** `sha256=<hex>` over `"<timestamp>.<body>"`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export type SignatureCheck = { readonly valid: true } | { readonly valid: false; readonly reason: string };

/**
 * What a receiver does (and our tests do): recompute the HMAC over the raw body bytes, compare in constant
 * time, and refuse timestamps outside the tolerance (a replayed old request).
 */
export function verifyWebhookSignature(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  now: Date;
  toleranceSeconds?: number;
}): SignatureCheck {
  const { timestamp, signature } = input;
  if (!timestamp || !/^\d+$/.test(timestamp))
    return { valid: false, reason: 'missing or malformed X-Aupdesk-Timestamp' };
  if (!signature?.startsWith('sha256='))
    return { valid: false, reason: 'missing or malformed X-Aupdesk-Signature' };
  const skew = Math.abs(input.now.getTime() / 1000 - Number(timestamp));
  if (skew > (input.toleranceSeconds ?? 300))
    return { valid: false, reason: `timestamp outside tolerance (${Math.round(skew)}s)` };
  const expected = Buffer.from(signWebhook(input.secret, timestamp, input.body));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { valid: false, reason: 'signature does not match' };
  }
  return { valid: true };
}

/** Outcome classes of an HTTP answer: what the outbox should do with it. */
export function classifyStatus(status: number): 'done' | 'retry' | 'permanent' {
  if (status >= 200 && status < 300) return 'done';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return status >= 400 ? 'permanent' : 'retry';
}

export class ProvisioningWebhookAdapter {
  private readonly config: z.output<typeof webhookConfigSchema>;

  constructor(
    config: WebhookConfig,
    /** The one method of `fetch` used; injectable for proxies and tests. */
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    const parsed = webhookConfigSchema.safeParse(config);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        `provisioning webhook: ${issue?.path.join('.') || '?'}: ${issue?.message ?? 'invalid'}`,
      );
    }
    this.config = parsed.data;
  }

  async perform(action: OutboxAction<ProvisionPayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = provisionPayloadSchema.parse(action.payload);
    const now = ctx.clock.now();
    const timestamp = String(Math.floor(now.getTime() / 1000));
    const body = JSON.stringify(provisioningBody(payload, action.idempotencyKey, now));
    const timeout = AbortSignal.timeout(this.config.timeoutMs);
    const signal = AbortSignal.any([timeout, ctx.signal]);
    let response: Response;
    try {
      response = await this.fetchImpl(this.config.url, {
        method: 'POST',
        headers: {
          ...this.config.headers,
          'content-type': 'application/json',
          'user-agent': 'aupdesk-provisioning/1',
          'x-aupdesk-timestamp': timestamp,
          'x-aupdesk-signature': signWebhook(this.config.secret, timestamp, body),
          'idempotency-key': action.idempotencyKey,
        },
        body,
        signal,
        redirect: 'error',
      });
    } catch (error) {
      const why = timeout.aborted
        ? `no answer within ${this.config.timeoutMs} ms`
        : String((error as Error)?.message ?? error);
      throw new AupError(
        'AUP_ERR_ACTION_FAILED',
        `provisioning webhook ${payload.operation} ${payload.serviceId}: ${why}`,
        {
          cause: error,
        },
      );
    }
    const text = (await response.text()).slice(0, 2000);
    const outcome = classifyStatus(response.status);
    const details = { status: response.status, operation: payload.operation, service: payload.serviceId };
    if (outcome === 'permanent') {
      throw new AupError(
        'AUP_ERR_ACTION_REJECTED',
        `provisioning webhook refused ${payload.operation} of ${payload.serviceId}: HTTP ${response.status} ${text}`,
        { details },
      );
    }
    if (outcome === 'retry') {
      throw new AupError(
        'AUP_ERR_ACTION_FAILED',
        `provisioning webhook ${payload.operation} of ${payload.serviceId}: HTTP ${response.status} ${text}`,
        { details },
      );
    }
    let answer: JsonValue = text;
    try {
      answer = JSON.parse(text) as JsonValue;
    } catch {
      // A plain-text answer is recorded as text.
    }
    return { status: response.status, operation: payload.operation, service: payload.serviceId, answer };
  }

  /** One outbox handler per provisioning kind, all through this webhook. */
  handlers(): ActionHandler<ProvisionPayload>[] {
    return provisionKinds.map((kind) => ({
      kind,
      payloadSchema: provisionPayloadSchema as z.ZodType<ProvisionPayload>,
      perform: (action, ctx) => this.perform(action, ctx),
    }));
  }
}

export const provisionKinds = [
  'provision.suspend',
  'provision.unsuspend',
  'provision.terminate',
  'provision.remove-content',
  // DMCA 512(g)(2)(C): material put back after a counter-notice.
  'provision.restore-content',
] as const;
