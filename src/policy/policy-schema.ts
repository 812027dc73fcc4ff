import { z } from 'zod';
import { isEventClass } from '../taxonomy/taxonomy.js';

/**
 * The policy document: one provider's AUP, one version, as YAML (`policies/<provider>/<version>.yaml`).
 *
 * The document carries the provider's own words (every clause and term keeps its `text`) beside what the
 * engine executes (event classes, severities, durations, the ladder). Sentences that cannot be executed
 * ("purposes generally accepted by the Internet community") stay in the document as text, marked
 * `executable: false` with the reason, so the published page and the enforced rules come from one source.
 *
 * Every object is strict: an unknown key is an error (a typo in a term must not silently disable it).
 * Durations are ISO 8601 (`P5D`, `PT72H`, `P90D`). Field names are snake_case, as YAML authors expect.
 */

export const POLICY_SCHEMA_ID = 'aupdesk/policy@1';

const isoDuration = z
  .string()
  .regex(
    /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$/,
    'expected an ISO 8601 duration such as P5D, PT72H or P90D',
  );

const dateTimeMessage = 'expected a date (2024-01-31) or a date-time with offset (2024-01-31T09:00:00Z)';
const isoDateTime = z.union(
  [
    z.iso.datetime({ offset: true, error: dateTimeMessage }),
    z.iso.date({ error: dateTimeMessage }).transform((d) => `${d}T00:00:00Z`),
    // YAML turns unquoted timestamps into Date objects; accept them and normalise.
    z.date().transform((d) => d.toISOString()),
  ],
  { error: dateTimeMessage },
);

const id = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/,
    'expected a lower-case id like "spam" or "email.spam"',
  );

const text = z.string().trim().min(1, 'must not be empty');

const eventClass = z.string().superRefine((value, ctx) => {
  if (!isEventClass(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" is not a known event class (taxonomy/type, e.g. abusive-content/spam); see src/taxonomy/taxonomy.ts`,
    });
  }
});

export const postalAddressSchema = z
  .object({
    attention: z.string().optional(),
    organisation: z.string().optional(),
    lines: z.array(text).min(1),
    country: z.string().length(2).optional(),
  })
  .strict();

export const contactSchema = z
  .object({
    email: z.email().optional(),
    phone: z.string().optional(),
    fax: z.string().optional(),
    web_form: z.url().optional(),
    postal: postalAddressSchema.optional(),
  })
  .strict();

/** Where in the seed text a clause or term comes from, so a reviewer can trace it. */
export const sourceRefSchema = z
  .object({
    /** Heading or section number in the provider's document. */
    section: text,
    /** The opening words of the paragraph or bullet, verbatim. */
    quote: text.optional(),
  })
  .strict();

/**
 * Term fields whose value the provider's text does not state: aupdesk's operator chose them (a cure period
 * for a provider that names none, how complaints are shared when the AUP is silent). Listing them keeps the
 * document honest: a renderer can mark them as practice rather than the provider's published promise.
 */
const operatorDefaults = <const K extends readonly [string, ...string[]]>(keys: K) =>
  z.array(z.enum(keys)).optional();

/**
 * Remedies a provider can reserve. The ladder may only use reserved remedies; analysts may apply any
 * reserved remedy by hand.
 */
export const remedies = [
  'warn',
  'notify',
  'suspend',
  'deny-service',
  'fee',
  'remove-content',
  'block-traffic',
  'terminate',
  'report-to-authorities',
] as const;
export type Remedy = (typeof remedies)[number];

export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export const serviceKinds = [
  'shared-hosting',
  'vps',
  'dedicated',
  'colocation',
  'cloud',
  'streaming',
  'mail',
  'dns',
  'other',
] as const;

export const clauseSchema = z
  .object({
    /** Stable across versions: a diff matches clauses by id. */
    id,
    /** Display number as the provider writes it (`1.4`, `c`), optional. */
    number: z.string().optional(),
    title: text,
    /** The provider's words, verbatim. */
    text,
    source: sourceRefSchema.optional(),
    /** Event classes this clause covers; empty for clauses only an analyst can apply. */
    covers: z.array(eventClass).default([]),
    /**
     * Narrows `covers` to events whose `classification.identifier` is one of these. Shadowserver reports
     * open resolvers and open proxies as `vulnerable/vulnerable-system`, a class shared with unrelated
     * findings (an unpatched Exchange server), so a clause against operating open services needs both.
     */
    identifiers: z.array(text).min(1).optional(),
    severity: z.enum(severities),
    /**
     * A violation endangers the infrastructure or other customers: the policy's immediate-suspension term
     * applies (iITGEN "endangers our infrastructure", Influxis "harming the service").
     */
    endangers_infrastructure: z.boolean().default(false),
    /**
     * The provider reserves judgement (Injazat: an increase in outgoing mail "is subject to review and
     * action"): a case under this clause opens on hold, waiting for an analyst, and sends no notice by itself.
     */
    subject_to_review: z.boolean().default(false),
    /** Only services of these kinds are bound (Injazat: executables on shared hosting). */
    service_kinds: z.array(z.enum(serviceKinds)).optional(),
    /** The clause forbids using a third-party network to promote content hosted here (spamvertising). */
    includes_third_party_networks: z.boolean().default(false),
    executable: z.boolean().default(true),
    /** Required when `executable` is false: why the engine cannot act on it alone. */
    non_executable_reason: z.string().optional(),
  })
  .strict()
  .refine((c) => c.executable || (c.non_executable_reason?.trim().length ?? 0) > 0, {
    message: 'a clause with executable: false needs non_executable_reason',
    path: ['non_executable_reason'],
  });
export type Clause = z.infer<typeof clauseSchema>;

/** A section of the published page: a heading, the provider's prose, and the clauses listed under it. */
export const sectionSchema = z
  .object({
    id,
    number: z.string().optional(),
    title: text,
    /** Prose shown above the clauses, verbatim (Markdown paragraphs). */
    text: z.string().optional(),
    clauses: z.array(id).default([]),
    /**
     * Prose the provider places after its list (iITGEN's enforcement paragraph follows its list of permitted
     * uses), verbatim, so the rendered page keeps the provider's reading order.
     */
    text_after: z.string().optional(),
  })
  .strict();
export type Section = z.infer<typeof sectionSchema>;

/**
 * One rung of the escalation ladder. The engine performs `action`, then waits `wait` (or the policy's cure
 * period when `wait: cure_period`); if the case is not cured by then, it moves to the next rung.
 */
export const ladderStepSchema = z
  .object({
    id,
    action: z.enum(remedies),
    /** How long the customer has after this step before the next one; `cure_period` uses the term. */
    wait: z.union([z.literal('cure_period'), isoDuration]).optional(),
    /**
     * `automatic`: the engine takes the step when due. `analyst`: the provider "may" — the engine proposes
     * the step and an analyst confirms it.
     */
    approval: z.enum(['automatic', 'analyst']).default('automatic'),
    /** The customer is told (by the notice channel) when this step is taken. */
    notify_customer: z.boolean().default(true),
    /** Fee recorded with a `fee` step. */
    fee: z
      .object({ amount: z.number().positive(), currency: z.string().length(3), basis: text })
      .strict()
      .optional(),
    text: z.string().optional(),
  })
  .strict();
export type LadderStep = z.infer<typeof ladderStepSchema>;

export const enforcementTermsSchema = z
  .object({
    text: z.string().optional(),
    source: sourceRefSchema.optional(),
    notice_channel: z.enum(['email', 'email-and-portal', 'none']),
    /**
     * The cure period the notice gives. Where the provider leaves it to the notice ("within the time period
     * set out in it"), this is the period aupdesk puts in the notice.
     */
    cure_period: isoDuration,
    /** The provider leaves the cure period to its notice (documented in the rendered page). */
    cure_period_set_in_notice: z.boolean().default(false),
    /**
     * `always`: notice precedes any suspension. `unless-harming`: notice first, except when the violation
     * endangers the infrastructure (Influxis). `never-required`: the provider may act without notice.
     */
    notice_before_suspension: z.enum(['always', 'unless-harming', 'never-required']),
    /** Suspend at once (skipping the cure period) when a clause marked endangers_infrastructure is broken. */
    immediate_suspension_when_endangering: z.boolean(),
    remedies: z.array(z.enum(remedies)).min(1),
    ladder: z.array(ladderStepSchema).min(1),
    /** Events of one service under one clause within this window join one case. */
    case_window: isoDuration.default('P14D'),
    /** Complaints about events older than this are acknowledged but not acted on. */
    max_event_age: isoDuration.default('P90D'),
    /** Interruptions caused by an AUP breach earn no SLA credit (Secure Packet section 11). */
    sla_credit_for_aup_interruptions: z.boolean().default(true),
    /** The provider may report suspected illegal conduct to authorities without notice. */
    may_report_to_authorities: z.boolean().default(false),
    reinstatement: z
      .object({ text: z.string().optional(), requires_analyst: z.boolean().default(true) })
      .strict()
      .default({ requires_analyst: true }),
    operator_defaults: operatorDefaults([
      'notice_channel',
      'cure_period',
      'notice_before_suspension',
      'immediate_suspension_when_endangering',
      'ladder',
      'case_window',
      'max_event_age',
      'reinstatement',
    ]),
  })
  .strict()
  .superRefine((terms, ctx) => {
    terms.ladder.forEach((step, index) => {
      if (!terms.remedies.includes(step.action)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ladder', index, 'action'],
          message: `ladder step "${step.id}" uses remedy "${step.action}", which the policy does not reserve (remedies: ${terms.remedies.join(', ')})`,
        });
      }
    });
    const ids = terms.ladder.map((s) => s.id);
    ids.forEach((stepId, index) => {
      if (ids.indexOf(stepId) !== index) {
        ctx.addIssue({
          code: 'custom',
          path: ['ladder', index, 'id'],
          message: `duplicate ladder step id "${stepId}"`,
        });
      }
    });
  });
export type EnforcementTerms = z.infer<typeof enforcementTermsSchema>;

export const complaintTermsSchema = z
  .object({
    text: z.string().optional(),
    source: sourceRefSchema.optional(),
    /** `reject`: complaints with no identifiable reporter are refused (and told why when possible). */
    anonymous: z.enum(['accept', 'reject']),
    /**
     * What the customer sees of a complaint: `shared` (as received, reporter included), `reporter-redacted`
     * (content shared, reporter withheld), `summary-only`.
     */
    share_with_customer: z.enum(['shared', 'reporter-redacted', 'summary-only']),
    /** Requests that a complaint be kept confidential are honoured (iITGEN: no). */
    honour_confidentiality_requests: z.boolean(),
    /**
     * A reply to a notice counts as the customer's when it comes from an address the registry holds for the
     * customer; `true` also accepts any address at the domain of one of those addresses (a colleague
     * answering). Either way the reply must carry the case's reply token (docs/operations.md).
     */
    customer_replies_from_domain: z.boolean().default(false),
    /** Where complaints go. */
    channels: z
      .array(
        z
          .object({ kind: z.enum(['email', 'web-form', 'postal', 'fax', 'phone']), address: text.optional() })
          .strict(),
      )
      .default([]),
    operator_defaults: operatorDefaults([
      'anonymous',
      'share_with_customer',
      'honour_confidentiality_requests',
    ]),
  })
  .strict();

export const changeTermsSchema = z
  .object({
    text: z.string().optional(),
    source: sourceRefSchema.optional(),
    /** How a change is announced. */
    announce: z.array(z.enum(['email', 'website', 'portal'])).min(1),
    /** `material-only`: only material changes are announced (iITGEN); `all`; `none`: no notice promised. */
    notify_customers: z.enum(['all', 'material-only', 'none']),
    /** `on-posting`: a new version binds once posted; `after-notice`: after `notice_period`. */
    effective: z.enum(['on-posting', 'after-notice']),
    notice_period: isoDuration.optional(),
    /** Customers may keep using the service under the previous version for this long (Secure Packet: P90D). */
    grace_period_previous_version: isoDuration.optional(),
    /** The provider may waive a change for a customer (who then stays on the previous version). */
    waivers_allowed: z.boolean().default(false),
    waiver_basis: z.string().optional(),
    /** A customer must accept the new version (portal) rather than be bound by continued use. */
    acceptance: z.enum(['continued-use', 'explicit']).default('continued-use'),
    operator_defaults: operatorDefaults(['announce', 'notify_customers', 'effective', 'acceptance']),
  })
  .strict()
  .refine((c) => c.effective !== 'after-notice' || c.notice_period !== undefined, {
    message: 'effective: after-notice needs notice_period',
    path: ['notice_period'],
  })
  .refine((c) => !c.waivers_allowed || (c.waiver_basis?.trim().length ?? 0) > 0, {
    message: 'waivers_allowed needs waiver_basis (when the provider may waive)',
    path: ['waiver_basis'],
  });
export type ChangeTerms = z.infer<typeof changeTermsSchema>;

export const legalProcesses = [
  'subpoena',
  'court-order',
  'search-warrant',
  'law-enforcement-request',
  'regulatory-request',
  'civil-action-request',
  'private-request',
] as const;

export const informationRequestTermsSchema = z
  .object({
    text: z.string().optional(),
    source: sourceRefSchema.optional(),
    /** Which processes are honoured at all. */
    honoured: z.array(z.enum(legalProcesses)).min(1),
    /** Only requests that are part of a filed and pending matter (iITGEN). */
    requires_filed_pending_matter: z.boolean(),
    /** The requester must demonstrate legal entitlement to the information. */
    requires_demonstrated_entitlement: z.boolean().default(false),
    fee: z
      .object({
        amount: z.number().nonnegative(),
        currency: z.string().length(3),
        per: z.enum(['hour', 'request']),
        legal_fees_passed_on: z.boolean().default(false),
        /**
         * `actual-time`: the requester gets an estimate up front and is billed the time actually spent
         * (iITGEN's hourly technical assistance fee); `estimate`: the estimate is the price.
         */
        billed: z.enum(['actual-time', 'estimate']).default('actual-time'),
      })
      .strict()
      .optional(),
    /** `shared-with-customer`: requests are not confidential and are disclosed to the customer. */
    confidentiality: z.enum(['confidential', 'shared-with-customer', 'as-required-by-law']),
    /** The customer gets prior notice of an inspection where the law permits (Secure Packet section 8). */
    customer_prior_notice: z.boolean().default(false),
    /**
     * A civil request is honoured only when it comes in a filed civil action that on its face meets the
     * requirements for such a request (Secure Packet section 8): a court and a case number.
     */
    civil_requests_need_filed_action: z.boolean().default(false),
    contact: contactSchema.optional(),
    operator_defaults: operatorDefaults([
      'honoured',
      'confidentiality',
      'fee',
      'customer_prior_notice',
      'civil_requests_need_filed_action',
    ]),
  })
  .strict();

/** Obligations with their own procedure and clock, beyond the violation ladder. */
export const obligationKinds = [
  'consent-evidence',
  'vulnerability-test-authorisation',
  'licence-certification',
  'breach-notification',
  'children-data-deletion',
  'sanctions-screening',
  'accurate-information',
  'investigation-cooperation',
  'monitoring-consent',
  'third-party-access-consent',
  'violation-self-report',
  'other',
] as const;

export const obligationSchema = z
  .object({
    id,
    kind: z.enum(obligationKinds),
    title: text,
    text,
    source: sourceRefSchema.optional(),
    /** Who must act: the customer, the provider. */
    party: z.enum(['customer', 'provider']),
    /** Time allowed from the trigger (request, event) to fulfilment, e.g. PT72H. */
    deadline: isoDuration.optional(),
    trigger: z.string().optional(),
    /** What follows a missed deadline, when the policy says. */
    consequence: z
      .object({ remedy: z.enum(remedies), text: z.string().optional() })
      .strict()
      .optional(),
    /** Requires the provider's prior written consent before the customer may act (vulnerability tests). */
    requires_prior_written_consent: z.boolean().default(false),
    /**
     * The event classes the obligation is about: for a vulnerability-test authorisation, what a consented
     * test may produce without opening a case (compliance/); default: the scan and attack classes.
     */
    covers: z.array(eventClass).optional(),
    /**
     * Clauses whose cases start this obligation (Secure Packet §4.3: a bulk-mail complaint under
     * `mail.consent` asks for consent evidence): such a case's notice asks for it, and `deadline` replaces
     * the generic cure period (docs/compliance.md).
     */
    clauses: z.array(id).optional(),
    executable: z.boolean().default(true),
    non_executable_reason: z.string().optional(),
  })
  .strict();
export type Obligation = z.infer<typeof obligationSchema>;

export const dmcaTermsSchema = z
  .object({
    text: z.string().optional(),
    source: sourceRefSchema.optional(),
    designated_agent: z
      .object({
        name: z.string().optional(),
        organisation: z.string().optional(),
        postal: postalAddressSchema,
        email: z.email().optional(),
        phone: z.string().optional(),
        fax: z.string().optional(),
      })
      .strict(),
    /** Notices must meet 17 U.S.C. 512(c)(3); incomplete ones are answered, not acted on. */
    require_complete_notice: z.boolean().default(true),
    /** 512(g)(2)(C): restore between 10 and 14 business days after a valid counter-notice. */
    counter_notice_restore_business_days: z
      .object({ min: z.number().int().min(1), max: z.number().int().min(1) })
      .strict()
      .default({ min: 10, max: 14 }),
    /**
     * How long the customer has to remove or disable the material named in a complete notice before the
     * desk disables it through the provisioning hook (512(c)(1)(C): "expeditiously").
     */
    takedown_window: isoDuration.default('P1D'),
    /**
     * How long the sender of an incomplete notice that substantially complies with (ii)–(iv) has to supply
     * the missing elements (512(c)(3)(B)(ii)) before the request lapses.
     */
    completion_request_window: isoDuration.default('P14D'),
    /** Strikes within the window that make a repeat infringer (512(i)). */
    repeat_infringer: z
      .object({ strikes: z.number().int().min(1), window: isoDuration, remedy: z.enum(remedies) })
      .strict()
      .default({ strikes: 3, window: 'P365D', remedy: 'terminate' }),
    /** Influxis names its agent's address only: the notice rules and repeat-infringer policy are aupdesk's. */
    operator_defaults: operatorDefaults([
      'require_complete_notice',
      'counter_notice_restore_business_days',
      'repeat_infringer',
      'takedown_window',
      'completion_request_window',
    ]),
  })
  .strict();

/** A sentence of the AUP kept as text because the engine cannot execute it. */
export const nonExecutableSchema = z
  .object({ text, reason: text, source: sourceRefSchema.optional() })
  .strict();

export const policyDocumentSchema = z
  .object({
    schema: z.literal(POLICY_SCHEMA_ID),
    provider: z
      .object({
        id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'expected a lower-case provider id such as "iitgen"'),
        name: text,
        legal_name: z.string().optional(),
        website: z.url().optional(),
        abuse_contact: contactSchema,
        general_contact: contactSchema.optional(),
      })
      .strict(),
    version: z
      .string()
      .regex(/^[0-9A-Za-z][0-9A-Za-z._-]*$/, 'expected a version such as "2018-02-24" or "1.1"'),
    title: text,
    /** When the provider posted this version. */
    published_at: isoDateTime,
    /** When it starts to bind (equal to published_at for "effective on posting"). */
    effective_at: isoDateTime,
    /** The version this one replaces, if any. */
    supersedes: z.string().optional(),
    /** Where the text comes from (seed file, URL), for traceability. */
    origin: z
      .object({ url: z.url().optional(), seed: z.string().optional(), retrieved: z.string().optional() })
      .strict()
      .optional(),
    /** The opening paragraphs, verbatim. */
    preamble: z.string().optional(),
    sections: z.array(sectionSchema).min(1),
    clauses: z.array(clauseSchema).min(1),
    terms: z
      .object({
        enforcement: enforcementTermsSchema,
        complaints: complaintTermsSchema,
        changes: changeTermsSchema,
        information_requests: informationRequestTermsSchema.optional(),
        dmca: dmcaTermsSchema.optional(),
      })
      .strict(),
    obligations: z.array(obligationSchema).default([]),
    non_executable: z.array(nonExecutableSchema).default([]),
  })
  .strict()
  .superRefine((doc, ctx) => {
    const seen = new Map<string, number>();
    doc.clauses.forEach((clause, index) => {
      const first = seen.get(clause.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['clauses', index, 'id'],
          message: `duplicate clause id "${clause.id}" (first used by clauses[${first}])`,
        });
      } else {
        seen.set(clause.id, index);
      }
    });
    doc.sections.forEach((section, sIndex) => {
      section.clauses.forEach((clauseId, cIndex) => {
        if (!seen.has(clauseId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sections', sIndex, 'clauses', cIndex],
            message: `section "${section.id}" lists unknown clause "${clauseId}"`,
          });
        }
      });
    });
    const obligationIds = new Set<string>();
    doc.obligations.forEach((o, index) => {
      if (obligationIds.has(o.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['obligations', index, 'id'],
          message: `duplicate obligation id "${o.id}"`,
        });
      }
      obligationIds.add(o.id);
      (o.clauses ?? []).forEach((clauseId, cIndex) => {
        if (!doc.clauses.some((c) => c.id === clauseId)) {
          ctx.addIssue({
            code: 'custom',
            path: ['obligations', index, 'clauses', cIndex],
            message: `obligation "${o.id}" names unknown clause "${clauseId}"`,
          });
        }
      });
      if ((o.clauses ?? []).length > 0 && (o.party !== 'customer' || o.deadline === undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: ['obligations', index, 'clauses'],
          message: `obligation "${o.id}" starts from clauses, so it needs party: customer and a deadline`,
        });
      }
    });
    if (Date.parse(doc.effective_at) < Date.parse(doc.published_at)) {
      ctx.addIssue({
        code: 'custom',
        path: ['effective_at'],
        message: 'effective_at is before published_at: a version cannot bind before it is posted',
      });
    }
    const changes = doc.terms.changes;
    if (
      changes.effective === 'after-notice' &&
      changes.notice_period !== undefined &&
      Date.parse(doc.effective_at) < Date.parse(doc.published_at) + durationMs(changes.notice_period)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['effective_at'],
        message: `effective_at is earlier than published_at + notice_period (${changes.notice_period}): an after-notice version binds only once the notice has run`,
      });
    }
  });

/** A validated policy document (defaults applied, dates as ISO strings). */
export type PolicyDocument = z.infer<typeof policyDocumentSchema>;
/** The document as an author writes it (before defaults). */
export type PolicyDocumentInput = z.input<typeof policyDocumentSchema>;

/**
 * Durations already read: a policy has a handful, and the pipeline asks for its case window and cure periods
 * several times per event. Bounded all the same (a policy file under test may have any number).
 */
const durations = new Map<string, number>();
const KEPT_DURATIONS = 1_000;

/** Milliseconds in an ISO 8601 duration; months and years as 30 and 365 days (documented). */
export function durationMs(duration: string): number {
  const known = durations.get(duration);
  if (known !== undefined) return known;
  const ms = parseDurationMs(duration);
  if (durations.size >= KEPT_DURATIONS) durations.clear();
  durations.set(duration, ms);
  return ms;
}

function parseDurationMs(duration: string): number {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(
    duration,
  );
  if (!m) throw new RangeError(`not an ISO 8601 duration: ${duration}`);
  const [, y, mo, w, d, h, mi, s] = m.map((v) => (v === undefined ? 0 : Number(v)));
  const day = 86_400_000;
  return (
    (y ?? 0) * 365 * day +
    (mo ?? 0) * 30 * day +
    (w ?? 0) * 7 * day +
    (d ?? 0) * day +
    (h ?? 0) * 3_600_000 +
    (mi ?? 0) * 60_000 +
    (s ?? 0) * 1000
  );
}

/**
 * The customer obligation a case under `clauseId` starts, with its own deadline (the policy's term, e.g.
 * PT72H for consent evidence), if the policy links one to the clause.
 */
export function obligationOfClause(
  policy: PolicyDocument,
  clauseId: string,
): (Obligation & { deadline: string }) | undefined {
  return policy.obligations.find(
    (o): o is Obligation & { deadline: string } =>
      o.party === 'customer' && o.deadline !== undefined && (o.clauses ?? []).includes(clauseId),
  );
}
