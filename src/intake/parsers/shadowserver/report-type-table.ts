import { z } from 'zod';
import { isEventClass } from '../../../taxonomy/taxonomy.js';

/**
 * The shape of the Shadowserver report-type table (report-types.ts) and the lookups built from it once.
 *
 * A report type says which file-name stem it is, which column *profile* its CSV follows (Shadowserver keeps three
 * families of column names: `scan` — ip/port/hostname/asn/geo —, `event` — src_… and dst_… — and `url` —
 * url/host/ip), its classification, and only what differs from the profile. Columns the mapping does not name
 * land in `extra` under their own names, so a new column never loses data and a new report type is one entry.
 */

/** Event fields a Shadowserver column may fill; the converter follows from the field (ip, port, asn, time…). */
export const mappableFields = [
  'time.source',
  'source.ip',
  'source.port',
  'source.fqdn',
  'source.url',
  'source.asn',
  'source.reverse_dns',
  'source.account',
  'source.geolocation.cc',
  'destination.ip',
  'destination.port',
  'destination.fqdn',
  'destination.url',
  'destination.asn',
  'destination.account',
  'protocol.transport',
  'protocol.application',
] as const;
export type MappableField = (typeof mappableFields)[number];

const columnName = z.string().regex(/^[a-z0-9_.]+$/i, 'a column name');
const columnList = z.array(columnName).min(1);
const eventClass = z.string().refine(isEventClass, 'a taxonomy/type pair from src/taxonomy/taxonomy.ts');
const stem = z.string().regex(/^[a-z0-9_]+$/, 'a Shadowserver file-name stem such as scan_dns');

export const columnProfileSchema = z
  .object({
    /** Every column a report of this family carries, space-separated (used to recognise a file by its header). */
    columns: z.string(),
    /** Event field → candidate columns, first present wins. */
    fields: z.partialRecord(z.enum(mappableFields), columnList),
    /** Fields a row must yield; a row without them is an error. */
    required: z.array(z.enum(mappableFields)),
  })
  .strict();
export type ColumnProfile = z.infer<typeof columnProfileSchema>;

export const reportTypeSpecSchema = z
  .object({
    /** File-name stem, e.g. `scan_dns`; also gives `feed.name` = `shadowserver-<type>`. */
    type: stem,
    /** Shadowserver's report title. */
    name: z.string().min(1),
    profile: z.string().min(1),
    /** `taxonomy/type`, e.g. `vulnerable/vulnerable-system`. */
    class: eventClass,
    /** Constant `classification.identifier`. */
    identifier: z.string().min(1).optional(),
    /** Columns whose first non-empty value becomes `classification.identifier` (before `identifier`). */
    identifierFrom: columnList.optional(),
    /** Columns whose first non-empty value becomes `malware.name`. */
    malwareFrom: columnList.optional(),
    application: z.string().min(1).optional(),
    transport: z.enum(['tcp', 'udp']).optional(),
    /** Shadowserver's default severity for the report. */
    severity: z.enum(['critical', 'high', 'medium', 'low', 'info']).optional(),
    /** Columns beyond the profile's, space-separated (recognition by header; mapping is by `fields`). */
    columns: z.string().optional(),
    /** Overrides of the profile's field → columns mapping. */
    fields: z.partialRecord(z.enum(mappableFields), columnList).optional(),
    /** Replaces the profile's required fields. */
    required: z.array(z.enum(mappableFields)).optional(),
    /** The IPv6 report of the same shape (`scan6_dns`), with its own feed name. */
    v6: stem.optional(),
    /** Older file-name stems Shadowserver used for this report; parsed as this type. */
    aliases: z.array(stem).optional(),
    /** Per-row reclassification: when `column` contains `contains` (case-insensitive), use this class. */
    rules: z
      .array(
        z
          .object({
            column: columnName,
            contains: z.string().min(1),
            class: eventClass,
            identifier: z.string().min(1).optional(),
          })
          .strict(),
      )
      .optional(),
  })
  .strict();
export type ReportTypeSpec = z.input<typeof reportTypeSpecSchema>;

export const reportTypeTableSchema = z
  .object({
    profiles: z.record(z.string(), columnProfileSchema),
    types: z.array(reportTypeSpecSchema),
  })
  .strict()
  .superRefine((table, ctx) => {
    const names = new Map<string, string>();
    table.types.forEach((t, i) => {
      if (!(t.profile in table.profiles))
        ctx.addIssue({
          code: 'custom',
          path: ['types', i, 'profile'],
          message: `unknown profile ${t.profile}`,
        });
      for (const n of [t.type, ...(t.v6 ? [t.v6] : []), ...(t.aliases ?? [])]) {
        const seen = names.get(n);
        if (seen) ctx.addIssue({ code: 'custom', path: ['types', i], message: `${n} already names ${seen}` });
        names.set(n, t.type);
      }
    });
  });
export type ReportTypeTableData = z.input<typeof reportTypeTableSchema>;

/** One file-name stem resolved: the spec, the feed name its events carry, and the profile it uses. */
export interface ResolvedType {
  readonly spec: ReportTypeSpec;
  readonly profile: ColumnProfile;
  /** The stem events are named after (`scan6_dns` for the v6 report, the canonical type for an alias). */
  readonly feedType: string;
  /** All columns this type is known to carry (profile + own), for recognition by header. */
  readonly columns: ReadonlySet<string>;
}

export interface ReportTypeTable {
  byStem(stem: string): ResolvedType | undefined;
  /** Best-matching type for a header, with its score (Jaccard similarity of the column sets, 0..1). */
  bestByColumns(header: readonly string[]): { type: ResolvedType; score: number } | undefined;
  readonly types: readonly ResolvedType[];
  readonly profiles: Readonly<Record<string, ColumnProfile>>;
}

/** Validate the data once and build the lookups. Throws a zod error naming the bad entry. */
export function compileReportTypeTable(data: ReportTypeTableData): ReportTypeTable {
  const table = reportTypeTableSchema.parse(data);
  const byStem = new Map<string, ResolvedType>();
  const primary: ResolvedType[] = [];
  for (const spec of table.types) {
    const profile = table.profiles[spec.profile]!;
    const columns = new Set(words(profile.columns).concat(words(spec.columns ?? '')));
    const make = (feedType: string): ResolvedType => ({ spec, profile, feedType, columns });
    const main = make(spec.type);
    primary.push(main);
    byStem.set(spec.type, main);
    if (spec.v6) byStem.set(spec.v6, make(spec.v6));
    for (const alias of spec.aliases ?? []) byStem.set(alias, main);
  }
  return {
    types: primary,
    profiles: table.profiles,
    byStem: (s) => byStem.get(s.toLowerCase()),
    bestByColumns(header) {
      const have = new Set(header.map((h) => h.trim().toLowerCase()));
      let best: { type: ResolvedType; score: number } | undefined;
      for (const type of primary) {
        let common = 0;
        for (const c of have) if (type.columns.has(c)) common++;
        const score = common / (have.size + type.columns.size - common);
        // Ties go to the earlier entry: the table lists a report before its less common relatives.
        if (!best || score > best.score) best = { type, score };
      }
      return best;
    },
  };
}

function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}
