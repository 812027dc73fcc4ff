import { z } from 'zod';

/**
 * XARF JSON reports as zod schemas, written from the published specifications (xarf.org):
 *
 * - **v4** (`xarf_version: "4.x.y"`): the core schema `xarf-core.json` — `report_id` (UUID), `timestamp`,
 *   `reporter` and `sender` (`org`, `contact`, `domain`), `source_identifier`, `category` (one of seven) and
 *   `type`; recommended `source_port`, `evidence_source`, `evidence[]` (`content_type`, base64 `payload`,
 *   `hash` as `algorithm:hex`, `size` ≤ 5 MB), `confidence`, `tags` (`namespace:predicate`). Additional
 *   properties are allowed at report level (forward compatibility), not inside contact/evidence objects.
 *   The per-category required fields of the type schemas are checked by `v4CategoryRequirements`.
 * - **v3** (abusix's JSON XARF, `ReporterInfo` / `Report` with `ReportClass` and `ReportType`): the shared
 *   schema's `ReporterInfo` (org, org domain, org email required), `Disclosure`, and `Report` with `Date`
 *   (RFC 3339) and `SourceIp` for IP-based reports, `Samples[]`. The xarf-spec v3 samples' `Source: {IP, Port}`
 *   and `Attachment[]` variants are accepted too.
 */

const hostname = z
  .string()
  .max(253)
  .regex(
    /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i,
    'expected a host name',
  );
const dateTime = z.iso.datetime({
  offset: true,
  local: false,
  message: 'expected an ISO 8601 date-time with zone',
});

export const xarfV4ContactSchema = z
  .object({
    org: z.string().min(1).max(200),
    contact: z.email(),
    domain: hostname,
  })
  .strict();

export const xarfV4EvidenceSchema = z
  .object({
    content_type: z.string().min(1),
    payload: z.base64({ message: 'expected base64 (RFC 4648, padded, no line breaks)' }),
    description: z.string().max(500).optional(),
    hash: z
      .string()
      .regex(/^(md5|sha1|sha256|sha512):[a-fA-F0-9]+$/, 'expected algorithm:hex')
      .optional(),
    size: z.number().int().min(0).max(5_242_880).optional(),
  })
  .strict();

export const xarfV4Categories = [
  'messaging',
  'content',
  'copyright',
  'connection',
  'vulnerability',
  'infrastructure',
  'reputation',
] as const;

export const xarfV4Schema = z
  .object({
    xarf_version: z.string().regex(/^4\.\d+\.\d+$/, 'expected 4.x.y'),
    report_id: z.uuid(),
    timestamp: dateTime,
    reporter: xarfV4ContactSchema,
    sender: xarfV4ContactSchema,
    source_identifier: z.string().min(1),
    source_port: z.number().int().min(1).max(65535).optional(),
    category: z.enum(xarfV4Categories),
    type: z.string().min(1),
    evidence_source: z.string().optional(),
    evidence: z.array(xarfV4EvidenceSchema).max(50).optional(),
    tags: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9_+-]*:[a-z0-9][a-z0-9_+.-]*$/, 'expected namespace:predicate'))
      .max(20)
      .optional(),
    confidence: z.number().min(0).max(1).optional(),
    description: z.string().max(1000).optional(),
    legacy_version: z.literal('3').optional(),
    _internal: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();
export type XarfV4Report = z.infer<typeof xarfV4Schema>;

/**
 * Required fields of the v4 category/type schemas (specification §4). `*` applies to every type of the
 * category. Kept as data so a new type is one line.
 */
export const v4CategoryRequirements: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  messaging: { '*': ['protocol'], bulk_messaging: ['recipient_count'] },
  connection: {
    '*': ['first_seen', 'protocol'],
    infected_host: ['bot_type'],
    reconnaissance: ['probed_resources'],
    scraping: ['total_requests'],
    vulnerability_scan: ['scan_type'],
  },
  content: {
    '*': ['url'],
    brand_infringement: ['infringement_type', 'legitimate_site'],
    exposed_data: ['data_types', 'exposure_method'],
    fraud: ['fraud_type'],
    remote_compromise: ['compromise_type'],
  },
  copyright: {
    copyright: ['infringing_url'],
    cyberlocker: ['infringing_url', 'hosting_service'],
    link_site: ['infringing_url', 'site_name'],
    ugc_platform: ['infringing_url', 'platform_name'],
    p2p: ['p2p_protocol'],
    usenet: ['newsgroup'],
  },
  vulnerability: { '*': ['service'], cve: ['cve_id', 'service_port'] },
  infrastructure: { botnet: ['compromise_evidence'], compromised_server: ['compromise_method'] },
  reputation: { '*': ['threat_type'] },
};

const reporterInfoSchema = z
  .object({
    ReporterOrg: z.string().min(3),
    ReporterOrgDomain: hostname,
    ReporterOrgEmail: z.email(),
    ReporterContactEmail: z.email().optional(),
    ReporterContactName: z.string().min(3).optional(),
    ReporterContactPhone: z.string().min(3).optional(),
  })
  .passthrough();

const sampleSchema = z
  .object({
    ContentType: z.string(),
    Base64Encoded: z.boolean().optional(),
    Description: z.string().optional(),
    Payload: z.string().optional(),
    Data: z.string().optional(),
  })
  .passthrough();

const ip = z.union([z.ipv4(), z.ipv6()]);

export const xarfV3Schema = z
  .object({
    Version: z.union([z.string(), z.number()]).optional(),
    ReporterInfo: reporterInfoSchema,
    OnBehalfOf: z.record(z.string(), z.unknown()).optional(),
    Disclosure: z.boolean(),
    Report: z
      .object({
        ReportClass: z.string().min(1),
        ReportType: z.string().min(1),
        ReportSubType: z.string().optional(),
        ReporterCaseID: z.string().optional(),
        ReporterSeverity: z.enum(['low', 'medium', 'high']).optional(),
        Date: dateTime,
        FirstSeen: dateTime.optional(),
        SourceIp: ip.optional(),
        SourcePort: z.number().int().min(0).max(65535).optional(),
        Source: z
          .object({ IP: ip.optional(), Port: z.number().int().min(0).max(65535).optional() })
          .passthrough()
          .optional(),
        DestinationIp: ip.optional(),
        DestinationPort: z.number().int().min(0).max(65535).optional(),
        Url: z.string().optional(),
        InfringingUrl: z.string().optional(),
        Samples: z.array(sampleSchema).optional(),
        Attachment: z.array(sampleSchema).optional(),
      })
      .passthrough()
      .refine((r) => r.SourceIp ?? r.Source?.IP ?? r.Url ?? r.InfringingUrl, {
        message: 'Report names no source: SourceIp (or Source.IP), Url or InfringingUrl',
        path: ['SourceIp'],
      }),
  })
  .passthrough();
export type XarfV3Report = z.infer<typeof xarfV3Schema>;
