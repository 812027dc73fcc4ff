/**
 * DMCA records in the fields the Lumen database records for a notice (lumendatabase.org): the type, the
 * dates sent and received, the works with their copyrighted and infringing URLs, the sender, principal and
 * recipient, and whether action was taken (Yes / No / Partial). Counter-notices go out as type
 * `Counternotice`. The export is what a provider that shares notices with Lumen submits, and what a
 * transparency report counts.
 */

export interface LumenEntity {
  readonly name: string;
  readonly kind: 'individual' | 'organization';
  readonly address_line_1?: string;
  readonly email?: string;
  readonly phone?: string;
}

export interface LumenNotice {
  readonly id: string;
  readonly type: 'DMCA' | 'Counternotice';
  readonly title: string;
  readonly date_sent: string | null;
  readonly date_received: string;
  readonly works: Array<{
    readonly description: string;
    readonly copyrighted_urls: Array<{ readonly url: string }>;
    readonly infringing_urls: Array<{ readonly url: string }>;
  }>;
  readonly entity_notice_roles: {
    readonly sender: LumenEntity | null;
    readonly principal: LumenEntity | null;
    readonly recipient: LumenEntity;
  };
  readonly action_taken: 'Yes' | 'No' | 'Partial' | 'Unspecified';
  readonly jurisdictions: string[];
}

export interface LumenSource {
  readonly ref: string;
  readonly kind: 'notice' | 'counter-notice';
  readonly receivedAt: Date;
  readonly sentAt: Date | null;
  readonly sender: {
    name?: string | undefined;
    organisation?: string | undefined;
    email?: string | undefined;
    phone?: string | undefined;
    address?: string | undefined;
  };
  readonly principal: string | null;
  readonly recipient: string;
  readonly works: readonly string[];
  /** The claimant's own URLs of the work (copyrighted_urls), when the notice gives them. */
  readonly copyrightedUrls: readonly string[];
  readonly infringingUrls: readonly string[];
  readonly actionTaken: 'yes' | 'no' | 'partial' | null;
}

export function toLumen(n: LumenSource): LumenNotice {
  const senderName = n.sender.organisation ?? n.sender.name;
  const works = n.works.length > 0 ? n.works : ['(work not identified)'];
  return {
    id: n.ref,
    type: n.kind === 'notice' ? 'DMCA' : 'Counternotice',
    title: n.kind === 'notice' ? `DMCA notice to ${n.recipient}` : `Counter-notice to ${n.recipient}`,
    date_sent: n.sentAt ? n.sentAt.toISOString() : null,
    date_received: n.receivedAt.toISOString(),
    // Lumen attaches URLs per work; a notice that lists its URLs once applies them to every work it names.
    works: works.map((description) => ({
      description,
      copyrighted_urls: n.copyrightedUrls.map((url) => ({ url })),
      infringing_urls: n.infringingUrls.map((url) => ({ url })),
    })),
    entity_notice_roles: {
      sender: senderName
        ? {
            name: senderName,
            kind: n.sender.organisation ? 'organization' : 'individual',
            ...(n.sender.address ? { address_line_1: n.sender.address } : {}),
            ...(n.sender.email ? { email: n.sender.email } : {}),
            ...(n.sender.phone ? { phone: n.sender.phone } : {}),
          }
        : null,
      principal: n.principal ? { name: n.principal, kind: 'organization' } : null,
      recipient: { name: n.recipient, kind: 'organization' },
    },
    action_taken:
      n.actionTaken === 'yes'
        ? 'Yes'
        : n.actionTaken === 'no'
          ? 'No'
          : n.actionTaken === 'partial'
            ? 'Partial'
            : 'Unspecified',
    jurisdictions: ['US'],
  };
}
