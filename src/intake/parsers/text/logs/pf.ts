import { type LogRecogniser, splitHostPort } from './log-recogniser.js';

/**
 * OpenBSD/FreeBSD pf log lines as `tcpdump -n -e -ttt -r /var/log/pflog` prints them:
 * `rule 4/0(match): block in on em0: 198.51.100.140.51515 > 192.0.2.1.22: Flags [S], …` (IPv6 addresses are
 * printed the same way, the port after the last dot). `in` is traffic arriving on the interface, so its first
 * address is the sender; `out` is traffic the reporter's own network sent.
 */
export const pfRecogniser: LogRecogniser = {
  kind: 'pf',
  pattern:
    /rule [\w./-]+\(match\): (?<action>block|pass|match|nat|rdr) (?<dir>in|out) on \S+: (?<src>[0-9a-fA-F:.]+) > (?<dst>[0-9a-fA-F:.]+):/,
  read(m) {
    const g = m.groups ?? {};
    const source = splitHostPort(g.src ?? '', '.');
    const destination = splitHostPort(g.dst ?? '', '.');
    if (!source || !destination) return undefined;
    const outbound = g.dir === 'out';
    return {
      kind: 'pf',
      source: outbound ? undefined : source,
      destination,
      direction: outbound ? 'outbound' : 'inbound',
      category: g.action === 'block' && !outbound ? 'scanning' : undefined,
      weight: 0.5,
    };
  },
};
