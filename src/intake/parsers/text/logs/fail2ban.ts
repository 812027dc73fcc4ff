import type { ComplaintCategory } from '../complaint-classifier.js';
import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * fail2ban's own log (`fail2ban.actions [pid]: NOTICE [jail] Ban 198.51.100.131`): the banned address is the
 * offender; what it did is told by the jail's name. `Unban` lines are not evidence.
 */
export const fail2banRecogniser: LogRecogniser = {
  kind: 'fail2ban',
  pattern: new RegExp(
    String.raw`fail2ban\.actions\s*(?:\[\d+\])?:?\s*(?:NOTICE|WARNING|INFO)\s+\[(?<jail>[\w.-]+)\]\s+(?:Ban|Already banned|Restore Ban)\s+(?<ip>${IP})`,
  ),
  read(m) {
    const source = endpoint(m.groups?.ip);
    if (!source) return undefined;
    return {
      kind: 'fail2ban',
      source,
      direction: 'inbound',
      category: jailCategory(m.groups?.jail ?? ''),
      weight: 1,
    };
  },
};

function jailCategory(jail: string): ComplaintCategory {
  const j = jail.toLowerCase();
  if (/bot|scan|probe|noscript|404|badreq/.test(j)) return 'scanning';
  if (/ddos|flood|limit-req|req-limit/.test(j)) return 'ddos';
  if (/spam|postscreen|rbl/.test(j)) return 'spam';
  return 'brute-force';
}
