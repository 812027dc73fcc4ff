import { ipOf } from '../logs/log-recogniser.js';
import { type BlockReader, emptyFinding } from './pasted-block.js';

/**
 * `dig` output pasted as proof of an open resolver (BIND's dig, as printed by 9.x): the command line
 * `dig @198.51.100.53 www.example.com A`, the `;; SERVER: 198.51.100.53#53(…)` footer, `;`-comment lines and
 * resource records (`www.example.com. 3600 IN A 192.0.2.80`), or `dig +short` answers on the lines after the
 * command. The server queried is the resolver complained about (the source); the name asked for and the
 * addresses it resolved to are bystanders. A recursive answer (`ra` flag with an answer, or `+short` output)
 * from that server is evidence that it is open.
 */
const COMMAND = /^\s*(?:[$#>%]\s*)?dig\b(?<args>.*)$/;
const SERVER_FOOTER = /^;;\s*SERVER:\s*([0-9a-fA-F:.]+)#\d+/;
const RECORD = /^\S+\s+\d+\s+IN\s+[A-Z0-9]+\s+\S/;

export const digOutputReader: BlockReader = {
  kind: 'dig',
  read(lines) {
    const finding = emptyFinding();
    let server: { value: string; line: number } | undefined;
    let recursive = false;
    let shortAnswers = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const command = COMMAND.exec(line);
      if (command) {
        finding.lines.add(i);
        const at = /@\[?([^\s\]]+)\]?/.exec(command.groups?.args ?? '');
        if (at) server = { value: at[1]!, line: i };
        const names = (command.groups?.args ?? '')
          .split(/\s+/)
          .filter((w) => /^[a-z0-9.-]+\.[a-z]{2,}\.?$/i.test(w));
        for (const n of names) finding.bystanders.add(n.replace(/\.$/, '').toLowerCase());
        if (/\+short\b/.test(command.groups?.args ?? '')) {
          // +short prints one answer per line until a blank line.
          let j = i + 1;
          while (j < lines.length && /^\s*(?:[0-9a-fA-F:.]+|[a-z0-9.-]+\.)\s*$/i.test(lines[j]!)) {
            finding.lines.add(j);
            finding.bystanders.add(lines[j]!.trim().replace(/\.$/, '').toLowerCase());
            shortAnswers = true;
            j++;
          }
          i = j - 1;
        }
        continue;
      }
      const footer = SERVER_FOOTER.exec(line);
      if (footer) {
        finding.lines.add(i);
        server = { value: footer[1]!, line: i };
        continue;
      }
      if (line.startsWith(';')) {
        finding.lines.add(i);
        if (/flags:[^;]*\bra\b/.test(line) && /ANSWER:\s*[1-9]/.test(line)) recursive = true;
        continue;
      }
      if (RECORD.test(line)) {
        finding.lines.add(i);
        const parts = line.trim().split(/\s+/);
        for (const p of [parts[0], parts[parts.length - 1]])
          if (p) finding.bystanders.add(p.replace(/\.$/, '').toLowerCase());
      }
    }
    if (server) {
      const ip = ipOf(server.value);
      const fqdn = ip ? undefined : server.value.replace(/\.$/, '').toLowerCase();
      finding.bystanders.delete(ip ?? fqdn ?? '');
      finding.sources.push({ kind: 'dig', ip, fqdn, line: server.line, category: 'open-resolver' });
      const proof = recursive || shortAnswers;
      finding.evidence['open-resolver'] = { lines: 1, weight: proof ? 3 : 1 };
    }
    return finding;
  },
};
