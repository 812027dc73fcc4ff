import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { CaseClause } from '../../src/cases/case-state.js';
import {
  type EnforcementTerms,
  type PolicyDocument,
  policyDocumentSchema,
} from '../../src/policy/policy-schema.js';
import { makePolicy } from '../factories.js';

/**
 * The enforcement terms of the five seed AUPs, as the engine tests read them. Each is written from the
 * seed's text (quoted beside it) so a test failing here says "the engine broke a promise of that text",
 * independent of how policies/<provider>/*.yaml encode the rest of the document. `realSeedPolicies()` loads
 * those encodings too, for the property tests.
 */

type TermsInput = Omit<Partial<EnforcementTerms>, 'ladder'> & {
  ladder: Array<Record<string, unknown>>;
  notice_before_suspension: EnforcementTerms['notice_before_suspension'];
  immediate_suspension_when_endangering: boolean;
  remedies: EnforcementTerms['remedies'];
};

function seed(
  id: string,
  name: string,
  enforcement: TermsInput,
  shareWithCustomer = 'reporter-redacted',
): PolicyDocument {
  return makePolicy({
    provider: { id, name, abuse_contact: { email: `abuse@${id}.example` } },
    terms: {
      enforcement: { notice_channel: 'email', cure_period: 'P7D', ...enforcement } as never,
      complaints: {
        anonymous: 'reject',
        share_with_customer: shareWithCustomer as 'shared',
        honour_confidentiality_requests: false,
      },
      changes: { announce: ['email'], notify_customers: 'material-only', effective: 'on-posting' },
    },
  });
}

/**
 * iITGEN: "We will contact you by email should you violate this AUP. You will be given an opportunity to
 * cure this violation. If the violation endangers our infrastructure ... we may immediately suspend
 * services. If you fail to take the actions set out in our email, within the time period set out in it, we
 * may terminate your contract."
 */
export const iitgen = seed(
  'iitgen',
  'iITGEN',
  {
    cure_period: 'P7D',
    notice_before_suspension: 'unless-harming',
    immediate_suspension_when_endangering: true,
    remedies: ['warn', 'suspend', 'deny-service', 'terminate'],
    ladder: [
      { id: 'notice', action: 'warn', wait: 'cure_period' },
      // "we may terminate": proposed, an analyst decides.
      { id: 'terminate', action: 'terminate', approval: 'analyst' },
    ],
  },
  'shared',
);

/**
 * Injazat: "Company may, in Company's sole discretion, take any of the following actions, depending on the
 * severity and duration of the violation: Warning ..., Suspend ..., Denying ... of services, Imposing fees
 * ..., remove the offending content". Everything after the warning is the provider's choice.
 */
export const injazat = seed('injazat', 'Injazat Technologies', {
  cure_period: 'P5D',
  notice_before_suspension: 'never-required',
  immediate_suspension_when_endangering: false,
  remedies: ['warn', 'suspend', 'deny-service', 'fee', 'remove-content'],
  ladder: [
    { id: 'warning', action: 'warn', wait: 'cure_period' },
    { id: 'remove-content', action: 'remove-content', approval: 'analyst', wait: 'P2D' },
    {
      id: 'fee',
      action: 'fee',
      approval: 'analyst',
      fee: { amount: 150, currency: 'AED', basis: 'service contract: AUP breach handling' },
    },
    { id: 'suspend', action: 'suspend', approval: 'analyst', wait: 'P14D' },
    { id: 'deny', action: 'deny-service', approval: 'analyst' },
  ],
});

/**
 * Influxis: "Influxis will attempt to provide notice to Customer if Influxis deems it necessary to suspend or
 * terminate a service, but ... reserves the right to suspend or terminate a service immediately without
 * notice ... if ... the violation is harming Influxis' service, network, customers, or users."
 */
export const influxis = seed('influxis', 'Influxis', {
  cure_period: 'P3D',
  notice_before_suspension: 'unless-harming',
  immediate_suspension_when_endangering: true,
  remedies: ['notify', 'block-traffic', 'suspend', 'terminate'],
  // The ladder starts at the suspension: the notice is the one the policy requires before it.
  ladder: [
    { id: 'suspend', action: 'suspend', wait: 'P14D' },
    { id: 'terminate', action: 'terminate', approval: 'analyst' },
  ],
});

/**
 * Secure Packet section 11: "Secure Packet may block any content or traffic, ... suspend the Services, or
 * terminate the Services ... No credit shall be available under any Service Level Agreement for
 * interruptions of Services resulting from an AUP breach."
 */
export const securepacket = seed('securepacket', 'Secure Packet', {
  cure_period: 'P2D',
  notice_before_suspension: 'never-required',
  immediate_suspension_when_endangering: true,
  sla_credit_for_aup_interruptions: false,
  may_report_to_authorities: true,
  remedies: ['notify', 'block-traffic', 'suspend', 'terminate', 'report-to-authorities'],
  ladder: [
    { id: 'notice', action: 'notify', wait: 'cure_period' },
    { id: 'block', action: 'block-traffic', wait: 'P2D' },
    { id: 'suspend', action: 'suspend', wait: 'P7D' },
    { id: 'terminate', action: 'terminate', approval: 'analyst' },
  ],
});

/**
 * INFINCE: "In the event of any violation of this Policy, you will be immediately notified ... we may
 * suspend or terminate Customer's use of Cloud service".
 */
export const infince = seed('infince', 'INFINCE', {
  cure_period: 'P3D',
  notice_before_suspension: 'always',
  immediate_suspension_when_endangering: true,
  reinstatement: { requires_analyst: false },
  remedies: ['notify', 'suspend', 'terminate'],
  ladder: [
    { id: 'notice', action: 'notify', wait: 'cure_period' },
    { id: 'suspend', action: 'suspend', wait: 'P7D' },
    { id: 'terminate', action: 'terminate', approval: 'analyst' },
  ],
});

export const seedLadders = { iitgen, injazat, influxis, securepacket, infince } as const;

export const spamClause: CaseClause = { id: 'spam', severity: 'medium', endangersInfrastructure: false };
export const ddosClause: CaseClause = { id: 'ddos', severity: 'critical', endangersInfrastructure: true };

/** The encoded seed policies in policies/<provider>/*.yaml that parse (the set grows as they land). */
export function realSeedPolicies(): PolicyDocument[] {
  const root = path.resolve(import.meta.dirname, '../../policies');
  const out: PolicyDocument[] = [];
  let providers: string[] = [];
  try {
    providers = readdirSync(root);
  } catch {
    return out;
  }
  for (const provider of providers) {
    let files: string[] = [];
    try {
      files = readdirSync(path.join(root, provider)).filter((f) => f.endsWith('.yaml'));
    } catch {
      continue;
    }
    for (const file of files) {
      const parsed = policyDocumentSchema.safeParse(
        parse(readFileSync(path.join(root, provider, file), 'utf8')),
      );
      if (parsed.success) out.push(parsed.data);
    }
  }
  return out;
}
