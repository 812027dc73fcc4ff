import { ipOf } from '../logs/log-recogniser.js';
import { type BlockReader, emptyFinding } from './pasted-block.js';

/**
 * An SMTP session pasted as proof of an open relay (RFC 5321 dialogue through `telnet`, `nc`, `openssl
 * s_client` or swaks, whose lines start `->`/`<-`): the host connected to is the relay complained about (the
 * source); names in the banner, HELO and envelope are bystanders. A `250` answer to a `RCPT TO` for another
 * domain, from a client that did not authenticate, is evidence that the server relays.
 */
const CONNECT =
  /^\s*(?:[$#>%]\s*)?(?:telnet|nc|ncat|netcat)\s+\[?([0-9a-zA-Z:.-]+?)\]?\s+(?:25|465|587|2525)\b|^\s*(?:[$#>%]\s*)?openssl\s+s_client\b.*?-connect\s+\[?([0-9a-zA-Z:.-]+?)\]?:(?:25|465|587)\b|^\s*(?:[$#>%]\s*)?swaks\b.*?--server\s+\[?([0-9a-zA-Z:.-]+?)\]?(?:[:\s]|$)|^\s*(?:===\s*)?(?:Trying|Connected to|Connecting to)\s+\[?([0-9a-zA-Z:.-]+?)\]?(?::\d+)?(?:\.\.\.|\.)?\s*$/i;
const DIALOGUE =
  /^\s*(?:(?:<-|->|<~|~>|\*\*\*|===)\s*)?(?:(?:HELO|EHLO|MAIL FROM|RCPT TO|DATA|QUIT|RSET|NOOP|AUTH|STARTTLS)\b|\d{3}[ -]|\.\s*$|Escape character is)/i;

export const smtpTranscriptReader: BlockReader = {
  kind: 'smtp-transcript',
  read(lines) {
    const finding = emptyFinding();
    let server: { value: string; line: number } | undefined;
    let dialogue = 0;
    let authenticated = false;
    let relayed = false;
    let awaitingRcpt = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const connect = CONNECT.exec(line);
      if (connect) {
        finding.lines.add(i);
        const host = connect[1] ?? connect[2] ?? connect[3] ?? connect[4];
        if (host && !server) server = { value: host, line: i };
        continue;
      }
      if (!DIALOGUE.test(line)) {
        awaitingRcpt = false;
        continue;
      }
      if (!server && !/^\s*(?:HELO|EHLO|MAIL FROM|RCPT TO)\b/i.test(line) && dialogue === 0) continue;
      dialogue++;
      finding.lines.add(i);
      const body = line.replace(/^\s*(?:<-|->|<~|~>|\*\*\*|===)\s*/, '');
      if (/^AUTH\b/i.test(body)) authenticated = true;
      if (/^235[ -]/.test(body)) authenticated = true;
      if (/^RCPT TO/i.test(body)) awaitingRcpt = true;
      else if (awaitingRcpt && /^250[ -]/.test(body)) {
        relayed = true;
        awaitingRcpt = false;
      } else if (/^\d{3}/.test(body)) awaitingRcpt = false;
      for (const m of body.matchAll(/[a-z0-9.-]+\.[a-z]{2,}/gi)) finding.bystanders.add(m[0].toLowerCase());
    }
    if (server && dialogue >= 2) {
      const ip = ipOf(server.value);
      const fqdn = ip ? undefined : server.value.toLowerCase();
      finding.sources.push({
        kind: 'smtp-transcript',
        ip,
        fqdn,
        line: server.line,
        category: relayed && !authenticated ? 'open-relay' : undefined,
      });
      if (relayed && !authenticated) finding.evidence['open-relay'] = { lines: 1, weight: 3 };
    } else if (dialogue < 2) {
      finding.lines.clear();
    }
    return finding;
  },
};
