import { createHash } from 'node:crypto';

/**
 * The Message-ID of the message sent for an outbox key: the same key always gives the same id, so a notice
 * sent twice after a crash is one message to every threading client, and later notices can name earlier ones
 * in References without looking anything up. The desk records it in the case's message log when it queues
 * the message; the mail adapters stamp the same id on it when they deliver.
 */
export function messageIdFor(idempotencyKey: string, domain: string): string {
  const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  return `<aup.${digest}@${domain}>`;
}
