import { ciscoAsaRecogniser } from './logs/cisco-asa.js';
import { eximRecogniser } from './logs/exim.js';
import { fail2banRecogniser } from './logs/fail2ban.js';
import { flowArrowRecogniser } from './logs/flow-arrow.js';
import { iptablesRecogniser } from './logs/iptables.js';
import { juniperSrxRecogniser } from './logs/juniper-srx.js';
import type { LogReading, LogRecogniser } from './logs/log-recogniser.js';
import { nfdumpRecogniser } from './logs/nfdump.js';
import { pfRecogniser } from './logs/pf.js';
import { postfixRecogniser } from './logs/postfix.js';
import { snortFastRecogniser } from './logs/snort-fast.js';
import { sshdRecogniser } from './logs/sshd.js';
import { webAccessRecogniser } from './logs/web-access.js';
import { windowsFirewallRecogniser } from './logs/windows-firewall.js';

/**
 * The log lines complainants paste or attach, as a table: one recogniser per product (logs/<product>.ts),
 * tried in order; the first that reads a line decides its roles. Specific formats come before the generic
 * ones (a Juniper or ASA line forwarded through syslog must not be read by a looser pattern).
 */
export const logRecognisers: readonly LogRecogniser[] = [
  sshdRecogniser,
  fail2banRecogniser,
  postfixRecogniser,
  snortFastRecogniser,
  ciscoAsaRecogniser,
  juniperSrxRecogniser,
  pfRecogniser,
  windowsFirewallRecogniser,
  nfdumpRecogniser,
  iptablesRecogniser,
  webAccessRecogniser,
  eximRecogniser,
  // Last: the generic arrow notation would also read an IDS or nfdump line.
  flowArrowRecogniser,
];

/** What the first recogniser that understands `line` reads from it, or undefined. */
export function readLogLine(line: string): LogReading | undefined {
  if (line.length > 8192) return undefined;
  for (const recogniser of logRecognisers) {
    const match = recogniser.pattern.exec(line);
    if (!match) continue;
    const reading = recogniser.read(match, line);
    if (reading) return reading;
  }
  return undefined;
}
