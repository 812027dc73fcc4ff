import type { Command } from 'commander';
import { type Attribution, type AttributionQuery, attribute } from '../../attribution/attribute.js';
import { AupError } from '../../errors.js';
import { parseIpAddress } from '../../registry/ip-address.js';
import { parseRegistryTime } from '../../registry/registry-row.js';
import { loadRegistrySnapshot } from '../../registry/registry-snapshot.js';
import type { CliContext } from '../context.js';

export function registerWhoisCommand(program: Command, context: () => CliContext): void {
  program
    .command('whois <target>')
    .description('who held an IP address, domain or URL at a time (default: now), from the registry')
    .option('--at <time>', 'ISO 8601 date or date-time (UTC when no offset is given)')
    .option('--json', 'print one JSON object: customer, service, resource, valid_from, valid_to, reason')
    .action(async (target: string, opts: { at?: string; json?: boolean }) => {
      const ctx = context();
      const at = opts.at === undefined ? new Date() : parseRegistryTime(opts.at);
      if (!at)
        throw new AupError(
          'AUP_ERR_ATTRIBUTION_BAD_QUERY',
          `--at "${opts.at}" is not an ISO 8601 date or date-time`,
        );
      const query = toQuery(target, at);
      const store = await ctx.openStore();
      let answer: Attribution;
      try {
        answer = attribute(await loadRegistrySnapshot(store.db), query);
      } finally {
        await store.close();
      }
      ctx.out.write(opts.json ? `${JSON.stringify(toJson(answer))}\n` : toText(target, at, answer));
    });
}

/** An address literal is an IP; anything with a scheme or a path is a URL; the rest a domain. */
export function toQuery(target: string, at: Date): AttributionQuery {
  const t = target.trim();
  if (parseIpAddress(t)) return { ip: t, at };
  if (t.includes('://') || t.includes('/')) return { url: t, at };
  return { domain: t, at };
}

/** The `--json` shape: exactly these six keys; all null but `reason` when not ours, `reason` null when ours. */
export function toJson(a: Attribution): {
  customer: Record<string, unknown> | null;
  service: Record<string, unknown> | null;
  resource: string | null;
  valid_from: string | null;
  valid_to: string | null;
  reason: string | null;
} {
  if (!a.ours)
    return {
      customer: null,
      service: null,
      resource: null,
      valid_from: null,
      valid_to: null,
      reason: a.reason,
    };
  return {
    customer: { ...a.customer },
    service: { ...a.service },
    resource: a.assignment.resource,
    valid_from: a.assignment.validFrom.toISOString(),
    valid_to: a.assignment.validTo?.toISOString() ?? null,
    reason: null,
  };
}

function toText(target: string, at: Date, a: Attribution): string {
  const head = `${target} at ${at.toISOString()}\n`;
  if (!a.ours) return `${head}  not ours (${a.reason}): ${a.detail}\n`;
  const c = a.customer;
  const s = a.service;
  return (
    head +
    `  customer  ${c.ref}  ${c.name}${c.country ? ` (${c.country})` : ''}, ${c.status}` +
    `${c.emails.length ? `, ${c.emails.join(', ')}` : ''}\n` +
    `  service   ${s.ref}  ${s.kind}, ${s.status}${s.provisioningRef ? `, provisioning ${s.provisioningRef}` : ''}\n` +
    `  resource  ${a.assignment.resource}  from ${a.assignment.validFrom.toISOString()}` +
    `${a.assignment.validTo ? ` to ${a.assignment.validTo.toISOString()}` : ', open-ended'} (assignment ${a.assignment.id})\n`
  );
}
