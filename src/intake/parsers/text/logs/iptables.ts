import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Netfilter LOG target lines (iptables, nftables `log`, UFW, firewalld) as the kernel prints them:
 * `[prefix] IN=eth0 OUT= MAC=… SRC=198.51.100.41 DST=192.0.2.10 LEN=44 … PROTO=TCP SPT=40000 DPT=22 …`.
 * Short lines without `MAC=`/`LEN=` (custom prefixes, trimmed pastes) are the same record: the roles come from
 * `SRC=`/`DST=`, never from the order addresses appear in. `IN=` set means the packet arrived (its SRC is the
 * sender, the offender of a blocked probe); `IN=` empty with `OUT=` set is traffic the reporter's host sent.
 */
export const iptablesRecogniser: LogRecogniser = {
  kind: 'iptables',
  pattern: new RegExp(
    String.raw`\bSRC=(?<src>${IP})\s+DST=(?<dst>${IP})\b(?:[^\n]*?\bPROTO=(?<proto>\w+))?(?:[^\n]*?\bSPT=(?<spt>\d+)\s+DPT=(?<dpt>\d+))?`,
  ),
  read(m, line) {
    const g = m.groups ?? {};
    const source = endpoint(g.src, g.spt);
    const destination = endpoint(g.dst, g.dpt);
    if (!source || !destination) return undefined;
    const inbound = /(?:^|\s)IN=(\S*)/.exec(line)?.[1];
    const outbound = /(?:^|\s)OUT=(\S*)/.exec(line)?.[1];
    const arrived = inbound !== undefined && inbound !== '';
    const leaving = !arrived && outbound !== undefined && outbound !== '';
    const blocked =
      /\b(?:BLOCK|DROP|DENY|REJECT|DROPPED|DENIED)\b/i.test(line) || !/\bACCEPT|ALLOW\b/i.test(line);
    return {
      kind: 'iptables',
      source: leaving ? undefined : source,
      destination,
      direction: leaving ? 'outbound' : 'inbound',
      category: blocked && !leaving ? 'scanning' : undefined,
      weight: 0.5,
      protocol: g.proto?.toLowerCase(),
    };
  },
};
