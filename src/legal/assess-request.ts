import type { PolicyDocument } from '../policy/policy-schema.js';
import type { InformationRequest } from './information-request.js';

/**
 * An information request judged by the binding policy's own terms (`terms.information_requests`), a pure
 * function of the document, the request and the time. Nothing here is provider-specific: iITGEN's "only
 * for a filed and pending matter", its $275 hourly fee and its "not confidential, shared with the customer"
 * are fields of its document, as are Secure Packet's prior notice to the customer "where permitted by
 * applicable law" and its rule that a civil request must come in a filed action.
 *
 * `customerNotice` is what the workflow does about the customer: `share` (the request is shared with it),
 * `prior-notice` (told before any disclosure), `forbidden` (an order forbids telling it: the log records
 * the order), `none` (the terms promise nothing).
 */

export type LegalProcess = InformationRequest['kind'];

export interface FeeEstimate {
  readonly hourly_rate: number;
  readonly currency: 'USD' | string;
  readonly estimated_hours: number;
  readonly estimate: number;
}

export interface Assessment {
  readonly decision: 'accepted' | 'refused';
  readonly reasons: string[];
  readonly fee: FeeEstimate | null;
  readonly requester_notices: string[];
  readonly customerNotice: 'share' | 'prior-notice' | 'forbidden' | 'none';
  /** Legal fees the provider incurs are passed on to the requester. */
  readonly legalFeesPassedOn: boolean;
  readonly policy: { readonly provider: string; readonly version: string };
}

const processWords: Record<LegalProcess, string> = {
  subpoena: 'subpoenas',
  'court-order': 'court orders',
  'search-warrant': 'search warrants',
  'law-enforcement-request': 'law-enforcement requests',
  'regulatory-request': 'regulatory requests',
  'civil-action-request': 'civil requests',
  'private-request': 'private requests',
};

function money(amount: number, currency: string): string {
  return currency === 'USD'
    ? `$${amount.toFixed(2).replace(/\.00$/, '')}`
    : `${currency} ${amount.toFixed(2)}`;
}

export function assessRequest(doc: PolicyDocument, request: InformationRequest, now: Date): Assessment {
  const terms = doc.terms.information_requests;
  const policy = { provider: doc.provider.id, version: doc.version };
  if (!terms) {
    return {
      decision: 'refused',
      reasons: [
        `${doc.provider.name}'s policy ${doc.version} states no terms for information requests: refer the request to counsel`,
      ],
      fee: null,
      requester_notices: [],
      customerNotice: 'none',
      legalFeesPassedOn: false,
      policy,
    };
  }
  const reasons: string[] = [];
  const matter = request.matter ?? null;
  if (!terms.honoured.includes(request.kind)) {
    reasons.push(
      `${doc.provider.name} does not respond to ${processWords[request.kind]} (it responds to ${terms.honoured.map((k) => processWords[k]).join(', ')})`,
    );
  }
  if (terms.requires_filed_pending_matter) {
    const missing: string[] = [];
    if (!matter?.court) missing.push('the court');
    if (!matter?.case_number) missing.push('the case number');
    if (!matter?.filed_at) missing.push('the filing date');
    if (missing.length > 0) {
      reasons.push(
        `requests are honoured only as part of a filed and pending matter; the request does not state ${missing.join(', ')}`,
      );
    } else if (Date.parse(matter!.filed_at!) > now.getTime()) {
      reasons.push(
        `the matter's filing date ${matter!.filed_at!.slice(0, 10)} is in the future: it is not a filed matter`,
      );
    }
    if (matter && matter.pending === false) {
      reasons.push(
        'the matter is no longer pending: requests are honoured only as part of a filed and pending matter',
      );
    } else if (matter && (matter.pending === null || matter.pending === undefined) && missing.length === 0) {
      reasons.push('the request does not say whether the matter is pending');
    }
  }
  if (terms.requires_demonstrated_entitlement && !request.authority) {
    reasons.push(
      'the requester must demonstrate that it is legally entitled to the information: no legal authority is stated',
    );
  }
  if (
    terms.civil_requests_need_filed_action &&
    request.kind === 'civil-action-request' &&
    (!matter?.court || !matter.case_number)
  ) {
    reasons.push(
      'a civil request must come in a filed civil action that on its face meets the requirements (a court and a case number)',
    );
  }
  const decision = reasons.length === 0 ? 'accepted' : 'refused';

  const notices: string[] = [];
  let customerNotice: Assessment['customerNotice'] = 'none';
  const order = request.nondisclosure_order;
  if (terms.confidentiality === 'shared-with-customer') {
    if (order) {
      notices.push(
        `Your request is not confidential unless the law expressly requires it; the order you cite (${order}) is recorded and the customer will not be told while it is in force.`,
      );
      customerNotice = 'forbidden';
    } else {
      notices.push(
        'Unless expressly required by law, your request is not confidential and will be shared with the customer concerned.',
      );
      customerNotice = 'share';
    }
  } else if (terms.customer_prior_notice) {
    if (order) {
      notices.push(
        `The customer would be given reasonable prior notice before any disclosure; the order you cite (${order}) forbids it, and it is recorded.`,
      );
      customerNotice = 'forbidden';
    } else {
      notices.push(
        'The customer concerned will be given reasonable prior notice before any disclosure, where permitted by applicable law and regulation.',
      );
      customerNotice = 'prior-notice';
    }
  } else if (order) {
    customerNotice = 'forbidden';
  }
  if (terms.requires_filed_pending_matter) {
    notices.push(
      'Requests for information, including subpoenas, are honoured only if they are part of a filed and pending matter.',
    );
  }
  let fee: FeeEstimate | null = null;
  if (terms.fee && decision === 'accepted') {
    const hours = request.estimated_hours;
    const estimate =
      terms.fee.per === 'hour' ? Math.round(terms.fee.amount * hours * 100) / 100 : terms.fee.amount;
    fee = {
      hourly_rate: terms.fee.per === 'hour' ? terms.fee.amount : 0,
      currency: terms.fee.currency,
      estimated_hours: hours,
      estimate,
    };
    notices.push(
      terms.fee.per === 'hour'
        ? `Processing is charged at ${money(terms.fee.amount, terms.fee.currency)} per hour: an estimated ${hours} hour${hours === 1 ? '' : 's'}, ${money(estimate, terms.fee.currency)}${terms.fee.billed === 'actual-time' ? '; the time actually spent is billed' : ''}.`
        : `Processing is charged ${money(terms.fee.amount, terms.fee.currency)} per request.`,
    );
    if (terms.fee.legal_fees_passed_on) {
      notices.push('You are responsible for any legal fees we incur when responding to your request.');
    }
  }
  return {
    decision,
    reasons,
    fee,
    requester_notices: notices,
    customerNotice,
    legalFeesPassedOn: terms.fee?.legal_fees_passed_on ?? false,
    policy,
  };
}

/** The JSON `aupdesk legal assess` prints: the interface's fields. */
export function assessmentSummary(
  a: Assessment,
): Pick<Assessment, 'decision' | 'reasons' | 'fee' | 'requester_notices'> {
  return { decision: a.decision, reasons: a.reasons, fee: a.fee, requester_notices: a.requester_notices };
}
