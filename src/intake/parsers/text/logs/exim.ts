import { endpoint, IP, type LogRecogniser } from './log-recogniser.js';

/**
 * Exim mainlog rejects and authenticator failures: `H=(helo) [203.0.113.151]:51234 F=<…> rejected RCPT …`,
 * `… authenticator failed for (helo) [IP]:port: 535 …`. The bracketed address is the connecting client.
 */
export const eximRecogniser: LogRecogniser = {
  kind: 'exim',
  pattern: new RegExp(
    String.raw`(?:H=[^\[\n]*)?\[(?<ip>${IP})\](?::\d+)?[^\n]*?\b(?<what>rejected (?:RCPT|after DATA|EHLO|MAIL|connection)|authenticator failed)`,
  ),
  read(m) {
    const source = endpoint(m.groups?.ip);
    if (!source) return undefined;
    return {
      kind: 'exim',
      source,
      direction: 'inbound',
      category: /authenticator failed/.test(m.groups?.what ?? '') ? 'brute-force' : 'spam',
      weight: 1,
      protocol: 'tcp',
    };
  },
};
