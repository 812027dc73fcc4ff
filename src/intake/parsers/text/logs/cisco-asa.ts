import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Cisco ASA / FTD deny messages, from Cisco's syslog message guide:
 * - 106023 `Deny tcp src outside:203.0.113.88/44321 dst inside:192.0.2.20/445 by access-group "…"`
 * - 106001 `Inbound TCP connection denied from 203.0.113.88/44323 to 192.0.2.22/1433 flags SYN on interface outside`
 * - 106006/106007 `Deny inbound UDP from 203.0.113.88/44324 to 192.0.2.23/161 on interface outside`
 * - 106015 `Deny TCP (no connection) from IP/port to IP/port flags … on interface …`
 * - 710003 `TCP access denied by ACL from IP/port to outside:IP/port`
 * The `from`/`src` address is where the packet came from. A 106023 whose source interface is an inside one is
 * the reporter's own host going out; a 106015 (no connection) is usually a late packet of a closed session, in
 * either direction, so its roles are not told.
 */
const INSIDE = /^(?:inside|in|lan|internal|trust(?:ed)?|private)$/i;

export const ciscoAsaRecogniser: LogRecogniser = {
  kind: 'cisco-asa',
  pattern: new RegExp(
    String.raw`%(?:ASA|FTD)-\d-(?<id>\d{6}): (?:Deny (?<p1>\w+) src (?<sif>[\w-]+):(?<s1>${IP})\/(?<sp1>\d+) dst (?<dif>[\w-]+):(?<d1>${IP})\/(?<dp1>\d+)|(?:Inbound (?<p2>\w+) connection denied|Deny inbound (?<p3>\w+)|Deny (?<p4>\w+) \(no connection\)|(?<p5>\w+) access denied by ACL) from (?<s2>${IP})\/(?<sp2>\d+) to (?:[\w-]+:)?(?<d2>${IP})\/(?<dp2>\d+))`,
  ),
  read(m) {
    const g = m.groups ?? {};
    const source = endpoint(g.s1 ?? g.s2, g.sp1 ?? g.sp2);
    const destination = endpoint(g.d1 ?? g.d2, g.dp1 ?? g.dp2);
    if (!source || !destination) return undefined;
    const outbound = g.sif !== undefined && INSIDE.test(g.sif) && !INSIDE.test(g.dif ?? '');
    const stale = g.id === '106015';
    return {
      kind: 'cisco-asa',
      source: outbound ? undefined : source,
      destination,
      direction: outbound ? 'outbound' : 'inbound',
      category: outbound || stale ? undefined : 'scanning',
      weight: 0.5,
      protocol: (g.p1 ?? g.p2 ?? g.p3 ?? g.p4 ?? g.p5)?.toLowerCase(),
      identifier: `ASA-${g.id}`,
      roleUnknown: stale || undefined,
    };
  },
};
