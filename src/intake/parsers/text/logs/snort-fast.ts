import type { ComplaintCategory } from '../complaint-classifier.js';
import { type LogRecogniser, splitHostPort } from './log-recogniser.js';

/**
 * Snort and Suricata "fast" alert lines (alert_fast / fast.log):
 * `12/03-10:41:07.123456  [**] [1:2024897:3] ET EXPLOIT Apache Struts RCE Attempt [**] [Classification: …]
 * [Priority: 1] {TCP} 203.0.113.120:48212 -> 192.0.2.80:80` (Suricata prints the year: `12/03/2026-07:01:02…`).
 * The arrow gives the direction of the packet that matched. For attacks on a service (scans, exploits, brute
 * force, floods) the packet's sender is the attacker; for malware/C2/policy signatures the matching packet is
 * often an infected host inside the reporter's network calling out, so the roles are not told.
 */
export const snortFastRecogniser: LogRecogniser = {
  kind: 'ids-alert',
  pattern:
    /\[\*\*\]\s*\[\d+:(?<sid>\d+):\d+\]\s*(?<msg>.*?)\s*\[\*\*\].*?\{(?<proto>[A-Za-z0-9-]+)\}\s*(?<src>\S+)\s*->\s*(?<dst>\S+)/,
  read(m) {
    const g = m.groups ?? {};
    const source = splitHostPort(g.src ?? '');
    const destination = splitHostPort(g.dst ?? '');
    if (!source || !destination) return undefined;
    const message = g.msg ?? '';
    const category = signatureCategory(message);
    // Reputation signatures fire on the first packet from a listed address: its role is known, its deed is not.
    const listed = REPUTATION.test(message);
    return {
      kind: 'ids-alert',
      source,
      destination,
      direction: 'inbound',
      category,
      weight: 1,
      protocol: g.proto?.toLowerCase(),
      identifier: message.slice(0, 200) || undefined,
      roleUnknown: (category === undefined && !listed) || undefined,
    };
  },
};

const REPUTATION =
  /\bDROP\b|Dshield|Block ?Listed|\bCINS\b|Spamhaus|COMPROMISED Known|Poor Reputation|TOR Exit/i;

// biome-ignore format: one rule per line reads as a table
const SIGNATURES: ReadonlyArray<readonly [RegExp, ComplaintCategory]> = [
  [/\bSCAN\b|port ?scan|sweep|nmap|masscan|zmap/i, 'scanning'],
  [/brute|login attempts|auth(?:entication)? fail|password guess/i, 'brute-force'],
  [/\bDOS\b|DDoS|flood|amplification/i, 'ddos'],
  [/EXPLOIT|injection|\bRCE\b|remote code|traversal|overflow|WEB_SERVER|WEB_SPECIFIC_APPS|WEB_ATTACKS|shellshock|log4j|attempted/i, 'exploit'],
];

function signatureCategory(message: string): ComplaintCategory | undefined {
  for (const [pattern, category] of SIGNATURES) if (pattern.test(message)) return category;
  return undefined;
}
