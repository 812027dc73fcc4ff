import { isServicePort, type LogRecogniser, splitHostPort } from './log-recogniser.js';

/**
 * nfdump's text output (`nfdump -r … -o line` / the default `-o extended` columns): `Date first seen  Duration
 * Proto  Src IP Addr:Port -> Dst IP Addr:Port  Packets Bytes Flows` (IPv6 printed as `2001:db8::1.443`).
 * A flow record is one direction of a conversation: the initiator's flow goes to the service port, the
 * server's reply comes back from it. A TCP flow from a service port (< 1024) to a high port is a reply, so its
 * source is the victim answering, not an offender. UDP from a service port is kept: an amplification flood
 * comes from the reflectors' port 53/123/… and those reflectors are the abusing hosts.
 */
export const nfdumpRecogniser: LogRecogniser = {
  kind: 'nfdump',
  pattern:
    /^\s*\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)?\s+[\d.]+\s+(?:\S+\s+)?(?<proto>TCP|UDP|ICMP|ICMP6|GRE|ESP|SCTP|\d+)\s+(?<src>[0-9a-fA-F:.]+)\s+->\s+(?<dst>[0-9a-fA-F:.]+)\s+/,
  read(m) {
    const g = m.groups ?? {};
    const source = splitHostPort(g.src ?? '', separatorOf(g.src ?? ''));
    const destination = splitHostPort(g.dst ?? '', separatorOf(g.dst ?? ''));
    if (!source || !destination) return undefined;
    const proto = g.proto?.toLowerCase();
    const reply =
      proto === 'tcp' &&
      isServicePort(source.port) &&
      destination.port !== undefined &&
      !isServicePort(destination.port);
    return {
      kind: 'nfdump',
      source: reply ? undefined : source,
      destination,
      direction: reply ? 'reply' : 'inbound',
      category: undefined, // a flow says who sent to whom; what it was is the complaint's to say
      weight: 0.5,
      protocol: proto,
    };
  },
};

/** nfdump prints IPv4 as `a.b.c.d:port` and IPv6 as `…:…:x.port`. */
function separatorOf(text: string): ':' | '.' {
  return text.split(':').length > 2 ? '.' : ':';
}
