import { z } from 'zod';
import { type ClassificationType, taxonomies, taxonomy } from '../taxonomy/taxonomy.js';

/**
 * The one field dictionary for normalised events (IntelMQ's harmonisation, the fields aupdesk uses). Keys
 * are IntelMQ's dotted names, kept flat, so an IntelMQ event JSON line is already (almost) an aupdesk event
 * and `aupdesk parse --json` prints what CERT tooling expects. Every parser's output is checked against
 * `eventSchema` (test/support/parser-harness.ts); fields outside this dictionary go under `extra`.
 *
 * Times are UTC ISO 8601 strings (`2026-11-22T10:00:00.000Z`); a source time without a zone is taken as
 * UTC and the parser records `extra.assumed_utc: true`.
 */

const isoTime = z.iso.datetime({ offset: false, message: 'expected a UTC ISO 8601 time ending in Z' });
const port = z.number().int().min(0).max(65535);
const ip = z.union([z.ipv4(), z.ipv6()]);
/** Whether `text` passes the field dictionary's host-name rule (`source.fqdn`). */
export function isEventFqdn(text: string): boolean {
  return fqdn.safeParse(text).success;
}

const fqdn = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9_]([a-z0-9_-]{0,62}\.)*[a-z0-9_-]{1,63}\.?$/i, 'expected a host name');
const allTypes = taxonomies.flatMap((t) => [...taxonomy[t]]) as [ClassificationType, ...ClassificationType[]];

export const eventSchema = z
  .object({
    'time.source': isoTime.optional(),
    'time.observation': isoTime.optional(),
    'classification.taxonomy': z.enum(taxonomies as [string, ...string[]]),
    'classification.type': z.enum(allTypes),
    /** The feed's own name for what it saw, e.g. `openresolver`, `ssh-bruteforce`, a malware family. */
    'classification.identifier': z.string().min(1).max(200).optional(),
    'source.ip': ip.optional(),
    'source.port': port.optional(),
    'source.fqdn': fqdn.optional(),
    'source.url': z.string().min(1).max(8192).optional(),
    'source.asn': z.number().int().min(0).max(4294967295).optional(),
    'source.network': z.string().optional(),
    'source.reverse_dns': z.string().optional(),
    'source.account': z.string().optional(),
    'source.geolocation.cc': z.string().length(2).optional(),
    'destination.ip': ip.optional(),
    'destination.port': port.optional(),
    'destination.fqdn': fqdn.optional(),
    'destination.url': z.string().min(1).max(8192).optional(),
    'destination.asn': z.number().int().min(0).max(4294967295).optional(),
    'destination.account': z.string().optional(),
    'protocol.transport': z.enum(['tcp', 'udp', 'icmp', 'ipv6-icmp', 'sctp', 'gre', 'other']).optional(),
    'protocol.application': z.string().min(1).max(100).optional(),
    'malware.name': z.string().min(1).max(200).optional(),
    'feed.name': z.string().min(1).max(200),
    'feed.provider': z.string().min(1).max(200).optional(),
    'feed.url': z.string().optional(),
    /** How sure the parser is of the classification, 0..1 (free text is rarely certain). */
    'classification.confidence': z.number().min(0).max(1).optional(),
    /** The raw input this event came from (a CSV line, a log line, a report part), truncated to 4 KiB. */
    raw: z.string().max(4096).optional(),
    /** Where in the input: 1-based line number for line formats, or a MIME part path such as `2.1`. */
    'raw.location': z.string().max(100).optional(),
    extra: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine(
    (e) =>
      (taxonomy[e['classification.taxonomy'] as keyof typeof taxonomy] as readonly string[]).includes(
        e['classification.type'],
      ),
    {
      message: 'classification.type does not belong to classification.taxonomy',
      path: ['classification.type'],
    },
  )
  .refine((e) => e['source.ip'] || e['source.fqdn'] || e['source.url'] || e['source.network'], {
    message: 'an event names its source: source.ip, source.fqdn, source.url or source.network',
    path: ['source.ip'],
  });

export type IntakeEvent = z.infer<typeof eventSchema>;

/** Cut raw text to the 4 KiB the schema allows, marking the cut. */
export function clipRaw(text: string): string {
  return text.length <= 4096 ? text : `${text.slice(0, 4080)}…[truncated]`;
}
