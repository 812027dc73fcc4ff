import type { ComplaintCategory } from '../complaint-classifier.js';
import { endpoint, type LogRecogniser, splitHostPort } from './log-recogniser.js';

/**
 * Packet and connection lines written with an arrow, the notation of tcpdump (`IP 203.0.113.5.40000 >
 * 192.0.2.1.22: Flags [S], …`, `IP6 2001:db8::5.40000 > 2001:db8::1.22: …`) and of honeypot, IDS and flow
 * tools that print `src[:port] -> dst[:port]` (Cowrie/T-Pot exports, argus, zeek-cut pipelines, hand-trimmed
 * logs). The arrow points from sender to receiver. Such lines are in a complaint because the reporter chose
 * them as evidence, so their sender is a source even when the line does not say what it did; the words on
 * the line say it when they can.
 */
const ARROW =
  /(?:^|[\s,;])(?<src>\[?[0-9a-fA-F:.]*[0-9a-fA-F]\]?(?::\d{1,5})?)\s*(?:->|→|=>)\s*(?<dst>\[?[0-9a-fA-F:.]*[0-9a-fA-F]\]?(?::\d{1,5})?)(?=[\s,;]|$)/;
const TCPDUMP = /\bIP6? (?<src>[0-9a-fA-F:.]+) > (?<dst>[0-9a-fA-F:.]+): /;

// biome-ignore format: one rule per line reads as a table
const WORDS: ReadonlyArray<readonly [RegExp, ComplaintCategory]> = [
  [/login attempt|auth(?:entication)? (?:attempt|fail)|password|brute/i, 'brute-force'],
  [/exploit|injection|\bRCE\b|traversal|shellcode/i, 'exploit'],
  [/\bscan|probe|\bSYN\b|Flags \[S\]/i, 'scanning'],
  [/flood|\bD?DoS\b/, 'ddos'],
];

export const flowArrowRecogniser: LogRecogniser = {
  kind: 'flow-arrow',
  pattern: /->|→|=>| > /,
  read(_m, line) {
    const tcpdump = TCPDUMP.exec(line);
    const arrow = tcpdump ?? ARROW.exec(line);
    if (!arrow) return undefined;
    const g = arrow.groups ?? {};
    const separator = tcpdump ? '.' : ':';
    const source = splitHostPort(g.src ?? '', separator) ?? endpoint(g.src);
    const destination = splitHostPort(g.dst ?? '', separator) ?? endpoint(g.dst);
    if (!source || !destination) return undefined;
    const category = WORDS.find(([pattern]) => pattern.test(line))?.[1];
    return {
      kind: tcpdump ? 'tcpdump' : 'flow-arrow',
      source,
      destination,
      direction: 'inbound',
      category,
      weight: 0.5,
      asEvidence: true,
    };
  },
};
