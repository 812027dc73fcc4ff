import { durationMs, type Remedy } from '../policy/policy-schema.js';

/**
 * 17 U.S.C. 512(i)(1)(A): a provider keeps its safe harbour only if it terminates repeat infringers under a
 * policy it has adopted and published. A strike is a complete notice that led to a takedown of the
 * customer's material and was not successfully countered (a counter-notice that ended with the material
 * restored withdraws it). The rule comes from the policy document (`terms.dmca.repeat_infringer`), the same
 * document the AUP page prints it from.
 */

export interface Strike {
  readonly at: Date;
  /** Withdrawn: a valid counter-notice ended with the material restored. */
  readonly withdrawn: boolean;
}

export interface RepeatInfringerRule {
  readonly strikes: number;
  readonly window: string;
  readonly remedy: Remedy;
}

export interface RepeatInfringerStatus {
  /** Strikes counted: not withdrawn, within the window ending at `now`. */
  readonly count: number;
  readonly threshold: number;
  readonly windowStart: Date;
  /** The rule's remedy is due. */
  readonly repeatInfringer: boolean;
  readonly remedy: Remedy;
}

export function repeatInfringerStatus(
  strikes: readonly Strike[],
  rule: RepeatInfringerRule,
  now: Date,
): RepeatInfringerStatus {
  const windowStart = new Date(now.getTime() - durationMs(rule.window));
  const count = strikes.filter(
    (s) => !s.withdrawn && s.at.getTime() > windowStart.getTime() && s.at.getTime() <= now.getTime(),
  ).length;
  return {
    count,
    threshold: rule.strikes,
    windowStart,
    repeatInfringer: count >= rule.strikes,
    remedy: rule.remedy,
  };
}
