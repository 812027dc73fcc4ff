import type { PolicyDocument, Remedy } from './policy-schema.js';

/**
 * The content of the published AUP page as a list of blocks, independent of the output format. Everything a
 * customer or a reporter needs is here, in this order: the provider's own sections and numbered clauses,
 * then the procedures the document's terms promise, in plain language, then contacts.
 *
 * Fields the provider's text leaves unstated (`operator_defaults`) are marked "our practice", so the page
 * never presents an operator's choice as the provider's published promise.
 */

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; id: string; text: string }
  | { kind: 'paragraphs'; text: string }
  | { kind: 'facts'; items: Array<readonly [string, string]> }
  | { kind: 'list'; ordered: boolean; numbered?: boolean; items: ListItem[] };

export interface ListItem {
  id?: string;
  number?: string;
  title?: string;
  text: string;
  note?: string;
}

const remedyWords: Record<Remedy, string> = {
  warn: 'warn you',
  notify: 'notify you',
  suspend: 'suspend the service',
  'deny-service': 'refuse or deny service',
  fee: 'charge a fee',
  'remove-content': 'remove the offending content',
  'block-traffic': 'block the offending traffic',
  terminate: 'terminate the service and your contract',
  'report-to-authorities': 'report the conduct to the authorities',
};

const processWords: Record<string, string> = {
  subpoena: 'subpoenas',
  'court-order': 'court orders',
  'search-warrant': 'search warrants',
  'law-enforcement-request': 'requests from law enforcement',
  'regulatory-request': 'requests from regulators',
  'civil-action-request': 'requests in civil actions',
  'private-request': 'requests from private parties',
};

const serviceKindWords: Record<string, string> = {
  'shared-hosting': 'shared hosting',
  vps: 'virtual private servers',
  dedicated: 'dedicated servers',
  colocation: 'colocation',
  cloud: 'cloud services',
  streaming: 'streaming services',
  mail: 'mail services',
  dns: 'DNS services',
  other: 'other services',
};

export function pageModel(doc: PolicyDocument): Block[] {
  const blocks: Block[] = [];
  const h = (level: 1 | 2 | 3, id: string, text: string): void => {
    blocks.push({ kind: 'heading', level, id, text });
  };
  const p = (text: string | undefined): void => {
    if (text && text.trim() !== '') blocks.push({ kind: 'paragraphs', text });
  };
  const bullets = (items: Array<string | undefined>): void => {
    const list = items.filter((i): i is string => i !== undefined && i !== '').map((text) => ({ text }));
    if (list.length > 0) blocks.push({ kind: 'list', ordered: false, items: list });
  };

  h(1, 'top', `${doc.provider.name} ${doc.title}`);
  const facts: Array<readonly [string, string]> = [
    ['Provider', doc.provider.legal_name ?? doc.provider.name],
  ];
  facts.push(['Version', doc.version]);
  facts.push(['Published', formatDate(doc.published_at)]);
  facts.push(['Effective', formatDate(doc.effective_at)]);
  if (doc.supersedes) facts.push(['Replaces version', doc.supersedes]);
  if (doc.provider.website) facts.push(['Website', doc.provider.website]);
  if (doc.provider.abuse_contact.email) facts.push(['Report abuse to', doc.provider.abuse_contact.email]);
  blocks.push({ kind: 'facts', items: facts });
  p(doc.preamble);

  // The provider's sections, numbered as the provider numbers them (or 1, 2, 3…), with their clauses.
  const clauseById = new Map(doc.clauses.map((c) => [c.id, c]));
  const listed = new Set<string>();
  const endangeringNote = doc.terms.enforcement.immediate_suspension_when_endangering
    ? 'A violation of this clause endangers our infrastructure or other customers and may lead to immediate suspension.'
    : undefined;
  const clauseItems = (ids: readonly string[], sectionNumber: string): ListItem[] =>
    ids.flatMap((id, index) => {
      const clause = clauseById.get(id);
      if (!clause) return [];
      listed.add(id);
      const notes: string[] = [];
      if (clause.service_kinds) {
        notes.push(`Applies to ${joinWords(clause.service_kinds.map((k) => serviceKindWords[k] ?? k))}.`);
      }
      if (clause.endangers_infrastructure && endangeringNote) notes.push(endangeringNote);
      return [
        {
          id: `clause-${clause.id}`,
          number: clause.number ?? `${sectionNumber}.${index + 1}`,
          title: clause.title,
          text: clause.text,
          ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
        },
      ];
    });
  doc.sections.forEach((section, index) => {
    const number = section.number ?? String(index + 1);
    h(2, `section-${section.id}`, `${number}. ${section.title}`);
    p(section.text);
    const items = clauseItems(section.clauses, number);
    if (items.length > 0) blocks.push({ kind: 'list', ordered: true, numbered: true, items });
    p(section.text_after);
  });
  const unlisted = doc.clauses.filter((c) => !listed.has(c.id)).map((c) => c.id);
  let nextNumber = doc.sections.length + 1;
  if (unlisted.length > 0) {
    const number = String(nextNumber++);
    h(2, 'section-other-prohibited-uses', `${number}. Other prohibited uses`);
    blocks.push({ kind: 'list', ordered: true, numbered: true, items: clauseItems(unlisted, number) });
  }
  if (doc.non_executable.length > 0) {
    h(2, 'general-provisions', 'General provisions');
    for (const sentence of doc.non_executable) p(sentence.text);
  }

  enforcement(doc, h, p, bullets, blocks);
  complaints(doc, h, bullets);
  const dmca = doc.terms.dmca;
  if (dmca) {
    h(2, 'dmca', 'Copyright infringement notices (DMCA)');
    p(dmca.text);
    p('Send notices of claimed copyright infringement to our designated agent:');
    const agent = dmca.designated_agent;
    const practice = practiceOf(dmca.operator_defaults);
    const facts: Array<readonly [string, string]> = [];
    if (agent.name) facts.push(['Designated agent', agent.name]);
    if (agent.organisation) facts.push(['Organisation', agent.organisation]);
    facts.push([
      'Address',
      [...agent.postal.lines, ...(agent.postal.country ? [agent.postal.country] : [])].join(', '),
    ]);
    if (agent.email) facts.push(['Email', agent.email]);
    if (agent.phone) facts.push(['Telephone', agent.phone]);
    if (agent.fax) facts.push(['Fax', agent.fax]);
    blocks.push({ kind: 'facts', items: facts });
    const restore = dmca.counter_notice_restore_business_days;
    const repeat = dmca.repeat_infringer;
    bullets([
      dmca.require_complete_notice
        ? practice(
            'require_complete_notice',
            'A notice must contain every element required by 17 U.S.C. § 512(c)(3); we answer incomplete notices but do not act on them.',
          )
        : undefined,
      practice(
        'completion_request_window',
        `If a notice identifies the work, the material and how to reach you but lacks other elements, we ask you for them; the request stays open ${describeDuration(dmca.completion_request_window)}. We do not act on the notice, or contact our customer, until it is complete.`,
      ),
      practice(
        'takedown_window',
        `On a complete notice we forward it to our customer, who must remove or disable the material within ${describeDuration(dmca.takedown_window)}; otherwise we disable it ourselves. We tell you when it is done.`,
      ),
      practice(
        'counter_notice_restore_business_days',
        `After a valid counter-notice we restore the material between ${restore.min} and ${restore.max} business days later, unless the complainant tells us it has filed an action.`,
      ),
      practice(
        'repeat_infringer',
        `A customer subject to ${repeat.strikes} valid notices within ${describeDuration(repeat.window)} is a repeat infringer; we will ${remedyWords[repeat.remedy]}.`,
      ),
    ]);
  }
  informationRequests(doc, h, p, bullets);
  if (doc.obligations.length > 0) {
    h(2, 'obligations', 'Your other obligations');
    blocks.push({
      kind: 'list',
      ordered: false,
      items: doc.obligations.map((o) => {
        const notes: string[] = [];
        if (o.deadline) {
          notes.push(
            `${o.party === 'provider' ? 'We act' : 'Deadline'}: within ${describeDuration(o.deadline)}${o.trigger ? ` of ${o.trigger}` : ''}.`,
          );
        }
        if (o.requires_prior_written_consent) notes.push('Requires our prior written consent.');
        if (o.consequence) notes.push(`If not met, we may ${remedyWords[o.consequence.remedy]}.`);
        return {
          id: `obligation-${o.id}`,
          title: o.title,
          text: o.text,
          ...(notes.length > 0 ? { note: notes.join(' ') } : {}),
        };
      }),
    });
  }
  changes(doc, h, p, bullets);

  h(2, 'contact', 'Contact');
  const contactFacts: Array<readonly [string, string]> = [];
  const addContact = (prefix: string, c: PolicyDocument['provider']['abuse_contact'] | undefined): void => {
    if (!c) return;
    if (c.email) contactFacts.push([`${prefix} email`, c.email]);
    if (c.phone) contactFacts.push([`${prefix} telephone`, c.phone]);
    if (c.fax) contactFacts.push([`${prefix} fax`, c.fax]);
    if (c.web_form) contactFacts.push([`${prefix} web form`, c.web_form]);
    if (c.postal) contactFacts.push([`${prefix} postal address`, c.postal.lines.join(', ')]);
  };
  addContact('Abuse', doc.provider.abuse_contact);
  addContact('General', doc.provider.general_contact);
  if (contactFacts.length > 0) blocks.push({ kind: 'facts', items: contactFacts });
  else p(`Contact ${doc.provider.name} through its website.`);
  return blocks;
}

type H = (level: 1 | 2 | 3, id: string, text: string) => void;
type P = (text: string | undefined) => void;
type Bullets = (items: Array<string | undefined>) => void;

/** Marks a sentence derived from a field the provider did not state. */
function practiceOf(defaults: readonly string[] | undefined): (field: string, sentence: string) => string {
  return (field, sentence) => (defaults?.includes(field) ? `${sentence} (Our practice.)` : sentence);
}

function enforcement(doc: PolicyDocument, h: H, p: P, bullets: Bullets, blocks: Block[]): void {
  const e = doc.terms.enforcement;
  const practice = practiceOf(e.operator_defaults);
  h(2, 'enforcement', 'How we enforce this policy');
  p(e.text);
  const cure = describeDuration(e.cure_period);
  bullets([
    practice(
      'notice_channel',
      e.notice_channel === 'none'
        ? 'We may act on a violation without notifying you first.'
        : `If you violate this policy, we will contact you by ${e.notice_channel === 'email' ? 'email' : 'email and through the customer portal'}.`,
    ),
    practice(
      'cure_period',
      e.cure_period_set_in_notice
        ? `You will be given an opportunity to cure the violation within the time set out in our notice (normally ${cure}).`
        : `You will have ${cure} to cure the violation.`,
    ),
    practice(
      'notice_before_suspension',
      {
        always: 'We will always notify you before suspending a service.',
        'unless-harming':
          'We will notify you before suspending a service, unless the violation is harming our service or other customers.',
        'never-required': 'We may suspend a service without notifying you first.',
      }[e.notice_before_suspension],
    ),
    e.immediate_suspension_when_endangering
      ? practice(
          'immediate_suspension_when_endangering',
          'If a violation endangers our infrastructure, our services or other customers, we may suspend the service immediately.',
        )
      : undefined,
    e.sla_credit_for_aup_interruptions
      ? undefined
      : 'Interruptions of service caused by a violation of this policy do not earn service-level credits.',
    e.may_report_to_authorities ? 'We may report suspected unlawful conduct to the authorities.' : undefined,
  ]);
  h(3, 'escalation', 'Escalation');
  p(practice('ladder', 'If a violation is not cured, we escalate step by step:'));
  blocks.push({
    kind: 'list',
    ordered: true,
    items: e.ladder.map((step, index) => {
      const isLast = index === e.ladder.length - 1;
      const wait = step.wait === 'cure_period' ? cure : step.wait ? describeDuration(step.wait) : undefined;
      const parts = [
        `We ${remedyWords[step.action]}${step.approval === 'analyst' ? ' (decided by our abuse team)' : ''}.`,
      ];
      if (step.fee)
        parts.push(`Fee: ${formatMoney(step.fee.amount, step.fee.currency)} (${step.fee.basis}).`);
      if (wait && !isLast) parts.push(`If the violation is not cured within ${wait}, we take the next step.`);
      if (!step.notify_customer) parts.push('This step may be taken without separate notice.');
      return { text: parts.join(' '), ...(step.text ? { note: step.text } : {}) };
    }),
  });
  p(`We reserve the right to ${joinWords(e.remedies.map((r) => remedyWords[r]))}.`);
  if (e.reinstatement.text) p(e.reinstatement.text);
}

function complaints(doc: PolicyDocument, h: H, bullets: Bullets): void {
  const c = doc.terms.complaints;
  const practice = practiceOf(c.operator_defaults);
  h(2, 'complaints', 'How to report abuse');
  const where = c.channels.map((ch) => {
    const kind = {
      email: 'By email',
      'web-form': 'Through our web form',
      postal: 'By post',
      fax: 'By fax',
      phone: 'By telephone',
    }[ch.kind];
    return ch.address ? `${kind}: ${ch.address}` : kind;
  });
  if (where.length === 0 && doc.provider.abuse_contact.email)
    where.push(`By email: ${doc.provider.abuse_contact.email}`);
  bullets([
    ...where,
    practice(
      'anonymous',
      c.anonymous === 'accept'
        ? 'You may report abuse anonymously.'
        : 'We do not act on anonymous complaints: please tell us who you are and how to reach you.',
    ),
    practice(
      'share_with_customer',
      {
        shared: 'Complaints, including who made them, may be shared with the customer concerned.',
        'reporter-redacted':
          'We share the content of a complaint with the customer concerned, but not who made it.',
        'summary-only': 'We share only a summary of a complaint with the customer concerned.',
      }[c.share_with_customer],
    ),
    practice(
      'honour_confidentiality_requests',
      c.honour_confidentiality_requests
        ? 'If you ask us to keep your complaint confidential, we will.'
        : 'We cannot keep a complaint confidential on request.',
    ),
  ]);
  if (c.text) bullets([c.text]);
}

function informationRequests(doc: PolicyDocument, h: H, p: P, bullets: Bullets): void {
  const r = doc.terms.information_requests;
  if (!r) return;
  const practice = practiceOf(r.operator_defaults);
  h(2, 'information-requests', 'Requests for information');
  p(r.text);
  bullets([
    practice('honoured', `We respond to ${joinWords(r.honoured.map((x) => processWords[x] ?? x))}.`),
    r.requires_filed_pending_matter
      ? 'We respond only to requests made as part of a filed and pending legal matter.'
      : undefined,
    r.requires_demonstrated_entitlement
      ? 'The requester must show that it is legally entitled to the information.'
      : undefined,
    r.fee
      ? practice(
          'fee',
          `We charge ${formatMoney(r.fee.amount, r.fee.currency)} per ${r.fee.per} to respond${r.fee.legal_fees_passed_on ? ', plus any legal fees we incur' : ''}${r.fee.per === 'hour' && r.fee.billed === 'actual-time' ? '; you receive an estimate first and are billed the time actually spent' : ''}.`,
        )
      : undefined,
    practice(
      'confidentiality',
      {
        confidential: 'Requests are kept confidential.',
        'shared-with-customer':
          'Requests are not confidential: we may share them with the customer concerned.',
        'as-required-by-law': 'Requests are kept confidential where the law requires it.',
      }[r.confidentiality],
    ),
    r.civil_requests_need_filed_action
      ? practice(
          'civil_requests_need_filed_action',
          'A civil request must come in a filed civil action (court and case number) that on its face meets the requirements for such a request.',
        )
      : undefined,
    r.customer_prior_notice
      ? practice(
          'customer_prior_notice',
          'Where the law permits, we tell the customer before disclosing its information.',
        )
      : undefined,
    r.contact?.email ? `Send requests to ${r.contact.email}.` : undefined,
    r.contact?.postal ? `Postal address: ${r.contact.postal.lines.join(', ')}.` : undefined,
  ]);
}

function changes(doc: PolicyDocument, h: H, p: P, bullets: Bullets): void {
  const c = doc.terms.changes;
  const practice = practiceOf(c.operator_defaults);
  h(2, 'changes', 'Changes to this policy');
  p(c.text);
  const channels = c.announce.map(
    (a) => ({ email: 'by email', website: 'on our website', portal: 'in the customer portal' })[a],
  );
  bullets([
    practice(
      'notify_customers',
      c.notify_customers === 'none'
        ? 'We publish changes here without notifying you separately; please check this page.'
        : `We announce ${c.notify_customers === 'material-only' ? 'material changes' : 'changes'} ${joinWords(channels)}.`,
    ),
    practice(
      'effective',
      c.effective === 'on-posting'
        ? 'A new version takes effect when it is posted.'
        : `A new version takes effect ${describeDuration(c.notice_period ?? 'P0D')} after we give notice of it.`,
    ),
    c.grace_period_previous_version
      ? `You may continue to use the services under the previous version for up to ${describeDuration(c.grace_period_previous_version)} after a new version takes effect.`
      : undefined,
    c.waivers_allowed
      ? `We may waive a change for you${c.waiver_basis ? `: ${c.waiver_basis}` : ''}.`
      : undefined,
    practice(
      'acceptance',
      c.acceptance === 'explicit'
        ? 'A new version binds you once you accept it; until then the previous version continues to apply.'
        : 'Your continued use of the services after a new version takes effect constitutes your acceptance of it.',
    ),
  ]);
}

function joinWords(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

function formatMoney(amount: number, currency: string): string {
  return `${currency} ${amount.toFixed(2)}`;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

/** `2023-01-01T00:00:00Z` → `1 January 2023`; other times keep `HH:MM UTC`. Locale-free, so deterministic. */
export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const date = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
  const hh = String(d.getUTCHours()).padStart(2, '0');
  const mm = String(d.getUTCMinutes()).padStart(2, '0');
  return hh === '00' && mm === '00' ? date : `${date}, ${hh}:${mm} UTC`;
}

/** `P5D` → `5 days`, `PT72H` → `72 hours`, `P1Y2M` → `1 year and 2 months`. */
export function describeDuration(duration: string): string {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(
    duration,
  );
  if (!m) return duration;
  const units = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  const parts = units.flatMap((unit, i) => {
    const n = Number(m[i + 1] ?? 0);
    return n > 0 ? [`${n} ${unit}${n === 1 ? '' : 's'}`] : [];
  });
  return parts.length === 0 ? 'no time' : joinWords(parts);
}
