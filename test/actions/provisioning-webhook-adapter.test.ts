import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  classifyStatus,
  ProvisioningWebhookAdapter,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/actions/provisioning-webhook-adapter.js';
import { ManualClock } from '../../src/enforcement/outbox/clock.js';
import { OutboxExecutor } from '../../src/enforcement/outbox/outbox-executor.js';
import { enqueueAction, getActionByKey } from '../../src/enforcement/outbox/outbox-repository.js';
import type { ProvisionPayload } from '../../src/enforcement/planned-action.js';
import { isAupError } from '../../src/errors.js';
import { describeEachBackend } from '../support/store-backends.js';
import { contextOf, outboxActionOf } from './action-support.js';

const SECRET = 'test-secret-0123456789abcdef0123456789abcdef';
const NOW = '2026-03-02T09:00:00.000Z';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  signatureValid: boolean;
  reason?: string;
}

/** A real HTTP receiver that verifies the signature the way a provider's hook would. */
interface Receiver {
  url: string;
  received: Received[];
  /** Status codes to answer with, in order; then 200. */
  script: number[];
  delayMs: number;
  close(): Promise<void>;
}

async function startReceiver(clock: () => Date): Promise<Receiver> {
  const receiver: Receiver = { url: '', received: [], script: [], delayMs: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const check = verifyWebhookSignature({
        secret: SECRET,
        timestamp: req.headers['x-aupdesk-timestamp'] as string | undefined,
        signature: req.headers['x-aupdesk-signature'] as string | undefined,
        body,
        now: clock(),
      });
      receiver.received.push({
        headers: req.headers,
        body,
        signatureValid: check.valid,
        ...(check.valid ? {} : { reason: check.reason }),
      });
      const status = check.valid ? (receiver.script.shift() ?? 200) : 401;
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(status === 200 ? { ok: true, ticket: 'T-1' } : { error: `status ${status}` }));
      }, receiver.delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/aupdesk`;
  receiver.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

const payload: ProvisionPayload = {
  caseId: '42',
  customerId: 'cust-1',
  serviceId: 'svc-1',
  operation: 'suspend',
  reason: 'AUP case 42: ddos (securepacket 2024, step suspend)',
  slaCreditEligible: false,
  urls: [],
};

describe('provisioning webhook adapter against a real HTTP receiver', () => {
  let receiver: Receiver;
  const clock = new ManualClock(NOW);

  beforeAll(async () => {
    receiver = await startReceiver(() => clock.now());
  });
  afterEach(() => {
    receiver.received.length = 0;
    receiver.script = [];
    receiver.delayMs = 0;
  });
  afterAll(async () => {
    await receiver.close();
  });

  it('POSTs the JSON contract with a signature, timestamp and idempotency key the receiver verifies', async () => {
    const adapter = new ProvisioningWebhookAdapter({ url: receiver.url, secret: SECRET });
    const result = await adapter.perform(
      outboxActionOf('provision.suspend', '42/suspend/1/provision.suspend', payload),
      contextOf('42/suspend/1/provision.suspend', clock),
    );
    expect(result).toMatchObject({ status: 200, answer: { ok: true, ticket: 'T-1' } });
    const [got] = receiver.received;
    expect(got?.signatureValid).toBe(true);
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers['idempotency-key']).toBe('42/suspend/1/provision.suspend');
    expect(got?.headers['x-aupdesk-timestamp']).toBe(String(Date.parse(NOW) / 1000));
    expect(JSON.parse(got!.body)).toEqual({
      action: 'suspend',
      service: 'svc-1',
      customer: 'cust-1',
      case: '42',
      reason: payload.reason,
      slaCreditEligible: false,
      urls: [],
      idempotencyKey: '42/suspend/1/provision.suspend',
      timestamp: NOW,
    });
  });

  it('a wrong signature, a tampered body or a stale timestamp is detectable', async () => {
    const adapter = new ProvisioningWebhookAdapter({ url: receiver.url, secret: `${SECRET}-other` });
    const error = await adapter
      .perform(outboxActionOf('provision.suspend', 'k1', payload), contextOf('k1', clock))
      .catch((e: unknown) => e);
    expect(receiver.received[0]?.signatureValid).toBe(false);
    expect(receiver.received[0]?.reason).toBe('signature does not match');
    // The receiver answered 401: a permanent refusal, not retried.
    expect(isAupError(error, 'AUP_ERR_ACTION_REJECTED')).toBe(true);

    const ts = '1772442000';
    const body = '{"action":"suspend"}';
    const signature = signWebhook(SECRET, ts, body);
    const at = new Date(Number(ts) * 1000);
    expect(verifyWebhookSignature({ secret: SECRET, timestamp: ts, signature, body, now: at }).valid).toBe(
      true,
    );
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        timestamp: ts,
        signature,
        body: '{"action":"terminate"}',
        now: at,
      }),
    ).toEqual({ valid: false, reason: 'signature does not match' });
    expect(
      verifyWebhookSignature({
        secret: SECRET,
        timestamp: ts,
        signature,
        body,
        now: new Date(at.getTime() + 3_600_000),
      }).valid,
    ).toBe(false);
    expect(
      verifyWebhookSignature({ secret: SECRET, timestamp: ts, signature: undefined, body, now: at }).valid,
    ).toBe(false);
  });

  it('5xx, 408 and 429 are retryable failures; other 4xx are permanent', async () => {
    expect([200, 204, 408, 429, 500, 503, 400, 404, 409, 422].map(classifyStatus)).toEqual([
      'done',
      'done',
      'retry',
      'retry',
      'retry',
      'retry',
      'permanent',
      'permanent',
      'permanent',
      'permanent',
    ]);
    const adapter = new ProvisioningWebhookAdapter({ url: receiver.url, secret: SECRET });
    receiver.script = [503, 429, 422];
    const results = [];
    for (let i = 0; i < 3; i += 1) {
      results.push(
        await adapter
          .perform(outboxActionOf('provision.suspend', 'k2', payload), contextOf('k2', clock))
          .catch((e: unknown) => e),
      );
    }
    expect(isAupError(results[0], 'AUP_ERR_ACTION_FAILED')).toBe(true);
    expect(isAupError(results[1], 'AUP_ERR_ACTION_FAILED')).toBe(true);
    expect(isAupError(results[2], 'AUP_ERR_ACTION_REJECTED')).toBe(true);
  });

  it('a receiver that does not answer in time is a retryable failure', async () => {
    receiver.delayMs = 500;
    const adapter = new ProvisioningWebhookAdapter({ url: receiver.url, secret: SECRET, timeoutMs: 100 });
    const error = await adapter
      .perform(outboxActionOf('provision.suspend', 'k3', payload), contextOf('k3', clock))
      .catch((e: unknown) => e);
    expect(isAupError(error, 'AUP_ERR_ACTION_FAILED')).toBe(true);
    expect((error as Error).message).toMatch(/no answer within 100 ms/);
  });

  it('refuses a short secret at configuration', () => {
    expect(() => new ProvisioningWebhookAdapter({ url: receiver.url, secret: 'short' })).toThrow(
      /at least 32/,
    );
  });
});

describeEachBackend('provisioning webhook through the outbox executor', (ctx) => {
  it('a 5xx is retried with backoff and the suspension then happens once, under one idempotency key', async () => {
    const { store } = ctx;
    const clock = new ManualClock(NOW);
    const receiver = await startReceiver(() => clock.now());
    try {
      receiver.script = [503];
      const adapter = new ProvisioningWebhookAdapter({ url: receiver.url, secret: SECRET });
      const executor = new OutboxExecutor({
        db: store.db,
        handlers: adapter.handlers(),
        clock,
        backoff: { baseMs: 60_000, jitter: 0 },
      });
      const key = '42/suspend/1/provision.suspend';
      await store.db
        .transaction()
        .execute((trx) =>
          enqueueAction(trx, { at: clock.now(), kind: 'provision.suspend', idempotencyKey: key, payload }),
        );
      expect(await executor.runOnce()).toMatchObject({ claimed: 1, retried: 1 });
      expect(await executor.runOnce()).toMatchObject({ claimed: 0 });
      clock.advance(60_000);
      expect(await executor.runOnce()).toMatchObject({ claimed: 1, done: 1 });
      expect(await executor.runOnce()).toMatchObject({ claimed: 0 });
      expect(receiver.received.map((r) => [r.headers['idempotency-key'], r.signatureValid])).toEqual([
        [key, true],
        [key, true],
      ]);
      expect((await getActionByKey(store.db, key))?.status).toBe('done');
    } finally {
      await receiver.close();
    }
  });
});
