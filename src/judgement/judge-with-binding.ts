import { isAupError } from '../errors.js';
import { type BindingResult, bindingVersion } from '../policy/policy-binding.js';
import type { PolicyHistory } from '../policy/policy-loader.js';
import type { PolicyDocument } from '../policy/policy-schema.js';
import { eventClassOf, type Judgement, type JudgementInput, judgeEvent } from './judge-event.js';

/**
 * Judgement with the version choice made here: the event is judged under the version of the provider's AUP
 * that bound *this customer* at *the event's time* (policy/policy-binding.ts: acceptance, waivers, grace
 * periods), not the version in force when the complaint arrives. A spam run on the last day of a 90-day
 * grace period is judged under the old text, even if the complaint is read a week later.
 */

/** What the registry knows of the customer's acceptance of the provider's AUP. */
export interface CustomerAcceptance {
  /** The version the customer accepted (signed, clicked through). */
  readonly acceptedVersion?: string | undefined;
  /** When (ISO 8601); alone it means "accepted the version in force then". */
  readonly acceptedAt?: string | undefined;
  /** Versions the provider waived for this customer. */
  readonly waivedVersions?: readonly string[] | undefined;
}

export type JudgeWithBindingInput = Omit<JudgementInput, 'policy'>;

export interface BoundJudgement {
  readonly judgement: Judgement;
  /** The instant the binding was asked about: the event's source time, else when the report arrived. */
  readonly boundAt: Date;
  /** The version that bound and why; null when none did (then the judgement is `no-clause` saying so). */
  readonly binding: {
    readonly version: string;
    /** The bound version itself: its ladder and terms govern the case the event opens. */
    readonly document: PolicyDocument;
    readonly reason: string;
    /** The version in force for customers in general at that instant. */
    readonly inForce: string;
    /** A newer version whose grace period was running for this customer. */
    readonly graceFor?: string;
    readonly graceEndsAt?: string;
    readonly pendingAcceptance?: string;
  } | null;
  /** The binding answer in one sentence (the audit entry's and the simulation's `detail`). */
  readonly bindingReason: string;
}

export function judgeWithBinding(
  history: PolicyHistory,
  customerAcceptance: CustomerAcceptance,
  input: JudgeWithBindingInput,
): BoundJudgement {
  const source = input.event['time.source'];
  const boundAt = source ? new Date(source) : input.receivedAt;
  let bound: BindingResult;
  try {
    bound = bindingVersion(history, {
      ...(customerAcceptance.acceptedVersion === undefined
        ? {}
        : { acceptedVersion: customerAcceptance.acceptedVersion }),
      ...(customerAcceptance.acceptedAt === undefined ? {} : { acceptedAt: customerAcceptance.acceptedAt }),
      ...(customerAcceptance.waivedVersions === undefined
        ? {}
        : { waivedVersions: customerAcceptance.waivedVersions }),
      at: boundAt.toISOString(),
    });
  } catch (error) {
    // Only "no version binds" is an answer about the event; a bad acceptance record is the caller's error.
    if (!isAupError(error) || error.code !== 'AUP_ERR_POLICY_NO_BINDING_VERSION') throw error;
    return {
      judgement: {
        verdict: 'no-clause',
        eventClass: eventClassOf(input.event),
        reason: `no version of the ${history.provider} AUP bound the customer at ${boundAt.toISOString()}: ${error.message}`,
      },
      boundAt,
      binding: null,
      bindingReason: error.message,
    };
  }
  return {
    judgement: judgeEvent({ ...input, policy: bound.document }),
    boundAt,
    binding: {
      version: bound.version,
      document: bound.document,
      reason: bound.reason,
      inForce: bound.inForce,
      ...(bound.graceFor === undefined ? {} : { graceFor: bound.graceFor }),
      ...(bound.graceEndsAt === undefined ? {} : { graceEndsAt: bound.graceEndsAt }),
      ...(bound.pendingAcceptance === undefined ? {} : { pendingAcceptance: bound.pendingAcceptance }),
    },
    bindingReason: `${history.provider} ${bound.version}: ${bound.reason}`,
  };
}
