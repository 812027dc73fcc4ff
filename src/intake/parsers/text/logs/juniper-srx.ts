import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Juniper SRX security logs, from Junos' RT_FLOW and RT_IDS documentation:
 * - structured syslog: `RT_FLOW_SESSION_DENY [junos@2636… source-address="198.51.100.71" source-port="53211"
 *   destination-address="192.0.2.40" destination-port="3306" … source-zone-name="untrust" …]`
 * - BSD syslog: `RT_FLOW_SESSION_DENY: session denied 198.51.100.71/53212->192.0.2.41/5432 0x0 None 6(0) …`
 * - screens: `RT_SCREEN_TCP: TCP port scan! source: 198.51.100.71:53211, destination: 192.0.2.40:22, zone …`
 * A session from a trusted zone is the reporter's own host going out.
 */
const TRUSTED = /source-zone-name="(?:trust|trusted|inside|lan|internal)"/i;

export const juniperSrxRecogniser: LogRecogniser = {
  kind: 'juniper-srx',
  pattern: new RegExp(
    String.raw`RT_FLOW_SESSION_DENY(?::\s+session denied (?<s1>${IP})\/(?<sp1>\d+)->(?<d1>${IP})\/(?<dp1>\d+)|\s*\[[^\]]*?source-address="(?<s2>${IP})"\s+source-port="(?<sp2>\d+)"\s+destination-address="(?<d2>${IP})"\s+destination-port="(?<dp2>\d+)")|RT_SCREEN_(?:TCP|UDP|ICMP|IP):\s+(?<screen>[^!]+)!\s+source:\s+(?<s3>${IP}):(?<sp3>\d+),\s+destination:\s+(?<d3>${IP}):(?<dp3>\d+)`,
  ),
  read(m, line) {
    const g = m.groups ?? {};
    const source = endpoint(g.s1 ?? g.s2 ?? g.s3, g.sp1 ?? g.sp2 ?? g.sp3);
    const destination = endpoint(g.d1 ?? g.d2 ?? g.d3, g.dp1 ?? g.dp2 ?? g.dp3);
    if (!source || !destination) return undefined;
    const outbound = TRUSTED.test(line);
    const screen = g.screen?.trim();
    const category = outbound
      ? undefined
      : screen && /flood|syn|land|ping of death|teardrop|winnuke/i.test(screen)
        ? 'ddos'
        : 'scanning';
    return {
      kind: 'juniper-srx',
      source: outbound ? undefined : source,
      destination,
      direction: outbound ? 'outbound' : 'inbound',
      category,
      weight: screen ? 1 : 0.5,
      identifier: screen,
    };
  },
};
