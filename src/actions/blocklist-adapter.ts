import { isIP } from 'node:net';
import type { z } from 'zod';
import type {
  ActionContext,
  ActionHandler,
  JsonValue,
  OutboxAction,
} from '../enforcement/outbox/action-handler.js';
import { type BlockPayload, blockPayloadSchema } from '../enforcement/planned-action.js';
import { AupError } from '../errors.js';

/**
 * `block.add` / `block.remove`: the addresses and prefixes a case has blocked, kept as a list the network
 * picks up: plain text (one CIDR per line under a comment header: what `ipset restore`, a BGP blackhole
 * feeder or a firewall's external list reads) and JSON (with the case and reason of each entry).
 *
 * One prefix may be blocked by several cases; it leaves the list only when the last of them lifts it, so a
 * reinstatement in one case never unblocks an address another case still holds.
 */

export interface BlocklistEntry {
  /** Normalised CIDR: `192.0.2.10/32`, `2001:db8::/48`. */
  readonly cidr: string;
  readonly caseId: string;
  readonly customerId: string;
  readonly serviceId: string;
  readonly reason: string;
  readonly addedAt: string;
  /** The outbox key that added it: repeats of the same action are recognised. */
  readonly idempotencyKey: string;
}

/** Where entries live; the case tables will back it, the in-memory one serves tests and simulations. */
export interface BlocklistRepository {
  /** Adds the entry unless one for the same cidr and case exists; true when added. */
  add(entry: BlocklistEntry): Promise<boolean>;
  /** Removes the case's entry for the cidr; true when one was removed. */
  remove(cidr: string, caseId: string): Promise<boolean>;
  list(): Promise<BlocklistEntry[]>;
}

export function memoryBlocklistRepository(): BlocklistRepository {
  const entries = new Map<string, BlocklistEntry>();
  const key = (cidr: string, caseId: string) => `${cidr} ${caseId}`;
  return {
    async add(entry) {
      if (entries.has(key(entry.cidr, entry.caseId))) return false;
      entries.set(key(entry.cidr, entry.caseId), entry);
      return true;
    },
    async remove(cidr, caseId) {
      return entries.delete(key(cidr, caseId));
    },
    async list() {
      return [...entries.values()];
    },
  };
}

/** `192.0.2.10` → `192.0.2.10/32`; `2001:DB8::/48` → `2001:db8::/48`; anything else is refused. */
export function normaliseCidr(value: string): string {
  const [address = '', length, ...rest] = value.trim().split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  const bits = length === undefined ? max : Number(length);
  if (
    family === 0 ||
    rest.length > 0 ||
    !Number.isInteger(bits) ||
    bits < 0 ||
    bits > max ||
    (length !== undefined && !/^\d+$/.test(length))
  ) {
    throw new AupError('AUP_ERR_ACTION_REJECTED', `not an address or CIDR prefix: "${value}"`, {
      details: { value },
    });
  }
  return `${address.toLowerCase()}/${bits}`;
}

/** Distinct CIDRs, IPv4 before IPv6, in a stable order. */
function distinctCidrs(entries: readonly BlocklistEntry[]): string[] {
  return [...new Set(entries.map((e) => e.cidr))].sort((a, b) => {
    const fa = a.includes(':') ? 6 : 4;
    const fb = b.includes(':') ? 6 : 4;
    return fa - fb || a.localeCompare(b, 'en', { numeric: true });
  });
}

export function renderBlocklistText(
  entries: readonly BlocklistEntry[],
  generatedAt: Date,
  name = 'aupdesk',
): string {
  const cidrs = distinctCidrs(entries);
  const header = [
    `# ${name} block list: addresses to null-route or filter under the acceptable use policy`,
    `# generated ${generatedAt.toISOString()}; ${cidrs.length} prefixes from ${new Set(entries.map((e) => e.caseId)).size} cases`,
    '# one CIDR per line; lines starting with # are comments',
  ];
  return `${[...header, ...cidrs].join('\n')}\n`;
}

export function renderBlocklistJson(entries: readonly BlocklistEntry[], generatedAt: Date): string {
  const byCidr = distinctCidrs(entries).map((cidr) => ({
    cidr,
    cases: entries
      .filter((e) => e.cidr === cidr)
      .map((e) => ({
        case: e.caseId,
        customer: e.customerId,
        service: e.serviceId,
        reason: e.reason,
        addedAt: e.addedAt,
      }))
      .sort((a, b) => a.case.localeCompare(b.case)),
  }));
  return `${JSON.stringify({ generatedAt: generatedAt.toISOString(), count: byCidr.length, entries: byCidr }, null, 2)}\n`;
}

export class BlocklistAdapter {
  constructor(private readonly repository: BlocklistRepository) {}

  async perform(action: OutboxAction<BlockPayload>, ctx: ActionContext): Promise<JsonValue> {
    const payload = blockPayloadSchema.parse(action.payload);
    const cidrs = payload.targets.map(normaliseCidr);
    const changed: string[] = [];
    for (const cidr of cidrs) {
      const done =
        payload.operation === 'add'
          ? await this.repository.add({
              cidr,
              caseId: payload.caseId,
              customerId: payload.customerId,
              serviceId: payload.serviceId,
              reason: payload.reason,
              addedAt: ctx.clock.now().toISOString(),
              idempotencyKey: action.idempotencyKey,
            })
          : await this.repository.remove(cidr, payload.caseId);
      if (done) changed.push(cidr);
    }
    return { operation: payload.operation, targets: cidrs, changed };
  }

  handlers(): ActionHandler<BlockPayload>[] {
    return (['block.add', 'block.remove'] as const).map((kind) => ({
      kind,
      payloadSchema: blockPayloadSchema as z.ZodType<BlockPayload>,
      perform: (action, ctx) => this.perform(action, ctx),
    }));
  }
}
