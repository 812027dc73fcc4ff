import type { PolicyDocument } from '../policy/policy-schema.js';
import type { DmcaRecord } from './dmca-repository.js';
import { type CounterElementId, elementDescriptions, type NoticeElementId } from './notice-check.js';

/**
 * The DMCA workflow's letters, as plain text fixed when the workflow decides (the outbox sends them later,
 * unchanged). Each is a pure function of the record and the policy, so a test reads exactly what goes out.
 */

export interface Letter {
  readonly letter: string;
  readonly subject: string;
  readonly text: string;
}

function providerName(doc: PolicyDocument): string {
  return doc.provider.name;
}

function quote(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => `> ${l}`)
    .join('\n');
}

function humanDate(date: Date): string {
  return `${date.toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

/** 512(c)(3)(B)(ii): the notice substantially complies with (ii)–(iv); ask for the rest. */
export function missingElementsLetter(doc: PolicyDocument, notice: DmcaRecord, deadline: Date): Letter {
  const missing = notice.missing as NoticeElementId[];
  return {
    letter: 'dmca.missing-elements',
    subject: `[${notice.ref}] Your DMCA notice is incomplete: ${missing.length} element${missing.length === 1 ? '' : 's'} missing`,
    text: [
      `We received your notice of claimed copyright infringement (${notice.ref}) on ${humanDate(notice.receivedAt)}.`,
      '',
      'It identifies the copyrighted work, the material and how to contact you, but it does not contain every',
      'element 17 U.S.C. 512(c)(3)(A) requires. It lacks:',
      '',
      ...missing.map((id) => `  - ${elementDescriptions[id]}`),
      '',
      `Please send a notice containing these elements by ${humanDate(deadline)}, quoting ${notice.ref}.`,
      `Until the notice is complete, ${providerName(doc)} does not act on it and does not contact its customer.`,
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

/** An incomplete notice that does not substantially comply with (ii)–(iv): rejected, with the reason. */
export function rejectionLetter(doc: PolicyDocument, notice: DmcaRecord): Letter {
  const missing = notice.missing as NoticeElementId[];
  return {
    letter: 'dmca.rejected',
    subject: `[${notice.ref}] Your DMCA notice cannot be acted on`,
    text: [
      `We received your notice of claimed copyright infringement (${notice.ref}) on ${humanDate(notice.receivedAt)}.`,
      '',
      `It cannot be acted on: ${notice.reason ?? 'it does not meet 17 U.S.C. 512(c)(3)(A)'}.`,
      '',
      'A notice must contain:',
      ...missing.map((id) => `  - ${elementDescriptions[id]}`),
      '',
      `${providerName(doc)} has not contacted its customer about this notice. You may send a complete notice.`,
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function notOursLetter(doc: PolicyDocument, notice: DmcaRecord): Letter {
  return {
    letter: 'dmca.not-ours',
    subject: `[${notice.ref}] The material in your DMCA notice is not on our network`,
    text: [
      `We received your notice (${notice.ref}). None of the locations it names is hosted by ${providerName(doc)}:`,
      '',
      ...notice.urls.map((u) => `  - ${u}`),
      '',
      'No action was taken. Please send the notice to the provider that hosts the material.',
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

/** The claimant is told the notice was complete, forwarded, and when the material comes down. */
export function takedownClaimantLetter(doc: PolicyDocument, notice: DmcaRecord, deadline: Date): Letter {
  return {
    letter: 'dmca.takedown-claimant',
    subject: `[${notice.ref}] Your DMCA notice: material to be removed`,
    text: [
      `Your notice of claimed copyright infringement (${notice.ref}) is complete under 17 U.S.C. 512(c)(3)(A).`,
      '',
      `We have forwarded it to our customer, who must remove or disable access to the following material by ${humanDate(deadline)};`,
      `if it does not, ${providerName(doc)} will disable it:`,
      '',
      ...notice.urls.map((u) => `  - ${u}`),
      '',
      'We will tell you when the material has been removed. If the customer sends a valid counter-notice,',
      'we will forward it to you; the material is then restored after 10 to 14 business days unless you',
      'tell us that you have filed an action seeking a court order against the customer.',
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

/**
 * The customer gets the notice itself, as the policy's confidentiality term allows: `shared` forwards it
 * verbatim; `reporter-redacted` withholds the claimant's contact details; `summary-only` lists the works
 * and locations only.
 */
export function takedownCustomerLetter(
  doc: PolicyDocument,
  notice: DmcaRecord,
  urls: readonly string[],
  deadline: Date,
): Letter {
  const share = doc.terms.complaints.share_with_customer;
  const content =
    share === 'shared'
      ? ['The notice as we received it:', '', quote(notice.body)]
      : share === 'reporter-redacted'
        ? [
            'The notice (the complaining party is withheld under our policy):',
            '',
            `  Works: ${notice.works.join('; ') || '(as described in the notice)'}`,
            `  Rights holder: ${notice.principal ?? '(withheld)'}`,
          ]
        : [`  Works: ${notice.works.join('; ') || '(as described in the notice)'}`];
  return {
    letter: 'dmca.takedown-customer',
    subject: `[${notice.ref}] DMCA notice: remove or disable the material by ${deadline.toISOString().slice(0, 10)}`,
    text: [
      `${providerName(doc)} received a notice of claimed copyright infringement (${notice.ref}) under 17 U.S.C. 512(c)`,
      'about material on your service:',
      '',
      ...urls.map((u) => `  - ${u}`),
      '',
      `Remove or disable access to it by ${humanDate(deadline)}. If it is still available then, we will disable it.`,
      '',
      ...content,
      '',
      'If you believe the material was removed by mistake or misidentification, you may send a counter-notice',
      '(17 U.S.C. 512(g)(3)) quoting this reference. It must contain: your physical or electronic signature;',
      'identification of the material and where it was; a statement under penalty of perjury that you have a',
      'good-faith belief it was removed as a result of mistake or misidentification; your name, address and',
      "telephone number, your consent to the jurisdiction of the Federal District Court for your address's",
      'judicial district, and that you will accept service of process from the complaining party.',
      '',
      `Repeat infringement leads to termination under our policy (${doc.terms.dmca ? `${doc.terms.dmca.repeat_infringer.strikes} notices within ${doc.terms.dmca.repeat_infringer.window}` : 'see the AUP'}).`,
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function removedClaimantLetter(
  doc: PolicyDocument,
  notice: DmcaRecord,
  by: 'customer' | 'provider',
): Letter {
  return {
    letter: 'dmca.removed-claimant',
    subject: `[${notice.ref}] The material in your DMCA notice has been removed`,
    text: [
      `The material named in your notice ${notice.ref} has been ${by === 'customer' ? 'removed by our customer' : `disabled by ${providerName(doc)}`}:`,
      '',
      ...notice.urls.map((u) => `  - ${u}`),
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

/** 512(g)(2)(B): the counter-notice goes to the claimant promptly, with word of the restore date. */
export function counterForwardLetter(
  doc: PolicyDocument,
  notice: DmcaRecord,
  counter: DmcaRecord,
  window: { earliest: string; latest: string },
): Letter {
  return {
    letter: 'dmca.counter-forward',
    subject: `[${notice.ref}] Counter-notice received: material to be restored from ${window.earliest}`,
    text: [
      `Our customer has sent a counter-notice (${counter.ref}) to your notice ${notice.ref} under 17 U.S.C. 512(g).`,
      'A copy follows.',
      '',
      `Unless you notify us, before ${window.earliest}, that you have filed an action seeking a court order to`,
      'restrain the subscriber from engaging in infringing activity relating to the material on our network,',
      `we will replace the removed material or cease disabling access to it between ${window.earliest} and ${window.latest}`,
      '(not less than 10, nor more than 14, business days after we received the counter-notice).',
      '',
      quote(counter.body),
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function counterIncompleteLetter(doc: PolicyDocument, counter: DmcaRecord): Letter {
  const missing = counter.missing as CounterElementId[];
  return {
    letter: 'dmca.counter-incomplete',
    subject: `[${counter.ref}] Your counter-notice is incomplete`,
    text: [
      `We received your counter-notice (${counter.ref}). It does not contain every element 17 U.S.C. 512(g)(3) requires:`,
      '',
      ...missing.map((id) => `  - ${elementDescriptions[id]}`),
      '',
      'The material stays down until a complete counter-notice arrives. Please send one quoting the notice reference.',
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function counterAckLetter(
  doc: PolicyDocument,
  counter: DmcaRecord,
  window: { earliest: string; latest: string },
): Letter {
  return {
    letter: 'dmca.counter-ack',
    subject: `[${counter.ref}] Counter-notice received and forwarded`,
    text: [
      `Your counter-notice (${counter.ref}) is complete and has been forwarded to the complaining party.`,
      `Unless it tells us it has filed an action against you, the material is restored between ${window.earliest} and ${window.latest}.`,
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function restoredLetter(doc: PolicyDocument, notice: DmcaRecord, counter: DmcaRecord): Letter {
  return {
    letter: 'dmca.restored',
    subject: `[${notice.ref}] Material restored after counter-notice ${counter.ref}`,
    text: [
      `No action was reported in time: under 17 U.S.C. 512(g)(2)(C) the material of notice ${notice.ref} has been restored:`,
      '',
      ...counter.urls.map((u) => `  - ${u}`),
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}

export function suitFiledLetter(doc: PolicyDocument, counter: DmcaRecord): Letter {
  return {
    letter: 'dmca.suit-filed',
    subject: `[${counter.ref}] The complaining party reports a court action: the material stays down`,
    text: [
      'The complaining party has notified us that it has filed an action seeking a court order against you',
      `concerning the material of your counter-notice ${counter.ref}${counter.suitDetails ? ` (${counter.suitDetails})` : ''}.`,
      'Under 17 U.S.C. 512(g)(2)(C) the material is not restored.',
      '',
      `${providerName(doc)} DMCA agent`,
    ].join('\n'),
  };
}
