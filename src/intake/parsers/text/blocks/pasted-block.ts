import type { CategoryEvidence, ComplaintCategory } from '../complaint-classifier.js';

/**
 * Structured text people paste into complaints that is not a log: mail headers with their `Received:` chain,
 * `dig` output, an SMTP session transcript. Each kind is one file in this folder; a reader finds its blocks in
 * the lines of a complaint and says which lines it settled (their addresses are not read again as prose),
 * which address is the abuse source, and which hosts are the reporter's own.
 */
export interface BlockSource {
  readonly kind: string;
  readonly ip?: string | undefined;
  readonly fqdn?: string | undefined;
  /** 0-based index of the line that names it. */
  readonly line: number;
  readonly category?: ComplaintCategory | undefined;
  /** Source time, when the block dates it (a `Received:` header's date). */
  readonly time?: string | undefined;
  readonly extra?: Readonly<Record<string, unknown>> | undefined;
}

export interface BlockFinding {
  /** 0-based indexes of the lines the block covers. */
  readonly lines: Set<number>;
  readonly sources: BlockSource[];
  /** The reporter's own hosts and addresses (lower-case): never a source. */
  readonly own: Set<string>;
  /** Addresses and hosts the block names that are neither source nor the reporter's (answers, relays below). */
  readonly bystanders: Set<string>;
  readonly evidence: Partial<Record<ComplaintCategory, { lines: number; weight: number }>>;
}

export interface BlockContext {
  /** Registered domains known to be the reporter's (from their address), lower-case. */
  readonly ownDomains: ReadonlySet<string>;
}

export interface BlockReader {
  readonly kind: string;
  read(lines: readonly string[], context: BlockContext): BlockFinding;
}

export function emptyFinding(): BlockFinding {
  return { lines: new Set(), sources: [], own: new Set(), bystanders: new Set(), evidence: {} };
}

export function mergeFindings(findings: readonly BlockFinding[]): BlockFinding {
  const out = emptyFinding();
  for (const f of findings) {
    for (const l of f.lines) out.lines.add(l);
    out.sources.push(...f.sources);
    for (const o of f.own) out.own.add(o);
    for (const b of f.bystanders) out.bystanders.add(b);
    for (const [c, e] of Object.entries(f.evidence) as Array<
      [ComplaintCategory, { lines: number; weight: number }]
    >) {
      const into = out.evidence[c] ?? { lines: 0, weight: e.weight };
      into.lines += e.lines;
      into.weight = Math.max(into.weight, e.weight);
      out.evidence[c] = into;
    }
  }
  return out;
}

export type { CategoryEvidence };

/**
 * The registered domain of a host name: its last two labels, or three under a two-letter country code with a
 * generic second level (`example.co.uk`). Good enough to tell the reporter's own relays from a sender's,
 * without a public-suffix list.
 */
export function registeredDomain(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.');
  if (labels.length <= 2) return labels.join('.');
  const tld = labels[labels.length - 1]!;
  const second = labels[labels.length - 2]!;
  const take =
    tld.length === 2 && /^(?:co|com|org|net|ac|gov|edu|or|ne|go|gob|nic|ltd|plc)$/.test(second) ? 3 : 2;
  return labels.slice(-take).join('.');
}
