import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Postfix smtpd/postscreen rejects and SASL failures as Postfix logs them:
 * `NOQUEUE: reject: RCPT from unknown[203.0.113.150]: 554 …`, `warning: unknown[198.51.100.199]: SASL LOGIN
 * authentication failed`, `DNSBL rank 3 for [IP]:port`, `PREGREET 11 after 0.1 from [IP]:port`. The bracketed
 * address is the connecting client.
 */
export const postfixRecogniser: LogRecogniser = {
  kind: 'postfix',
  pattern: new RegExp(
    String.raw`postfix\/(?:smtpd|postscreen|submission\/smtpd|smtps\/smtpd)\[\d+\]: (?:NOQUEUE: reject: (?:RCPT|DATA|CONNECT|MAIL) from [^\[\s]*\[(?<ip>${IP})\]|warning: [^\[\s]*\[(?<ip2>${IP})\]: SASL \w+ authentication failed|(?:DNSBL rank \d+|PREGREET \d+ after [\d.]+) (?:for|from) \[(?<ip3>${IP})\])`,
  ),
  read(m) {
    const g = m.groups ?? {};
    const source = endpoint(g.ip ?? g.ip2 ?? g.ip3);
    if (!source) return undefined;
    return {
      kind: 'postfix',
      source,
      direction: 'inbound',
      category: g.ip2 ? 'brute-force' : 'spam',
      weight: 1,
      protocol: 'tcp',
    };
  },
};
