import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Windows Defender Firewall's pfirewall.log (W3C extended, `#Version: 1.5`): `#Fields: date time action protocol
 * src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path`, e.g.
 * `2026-12-03 09:01:11 DROP TCP 203.0.113.140 192.0.2.90 52100 3389 52 S 1234567 0 64240 - - - RECEIVE`.
 * `path` RECEIVE is traffic arriving (src-ip is the remote sender); SEND is the logging host's own traffic.
 * The log's times are local time (`#Time Format: Local`): read as UTC and flagged like any zone-less time.
 */
export const windowsFirewallRecogniser: LogRecogniser = {
  kind: 'windows-firewall',
  pattern: new RegExp(
    String.raw`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} (?<action>ALLOW|DROP|DROP-ICMP|INFO-EVENTS-LOST) (?<proto>\w+) (?<src>${IP}) (?<dst>${IP}) (?<spt>\d+|-) (?<dpt>\d+|-)(?:.*\s(?<path>RECEIVE|SEND|FORWARD|UNKNOWN))?\s*$`,
  ),
  read(m) {
    const g = m.groups ?? {};
    const source = endpoint(g.src, g.spt);
    const destination = endpoint(g.dst, g.dpt);
    if (!source || !destination) return undefined;
    const outbound = g.path === 'SEND';
    return {
      kind: 'windows-firewall',
      source: outbound ? undefined : source,
      destination,
      direction: outbound ? 'outbound' : 'inbound',
      category: g.action?.startsWith('DROP') && !outbound ? 'scanning' : undefined,
      weight: 0.5,
      protocol: g.proto?.toLowerCase(),
    };
  },
};
