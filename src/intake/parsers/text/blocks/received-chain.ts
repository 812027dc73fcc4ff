import { parseSourceTime } from '../../../source-time.js';
import { ipOf } from '../logs/log-recogniser.js';
import {
  type BlockContext,
  type BlockFinding,
  type BlockReader,
  type BlockSource,
  emptyFinding,
  registeredDomain,
} from './pasted-block.js';

/**
 * Mail headers pasted into a complaint (a forwarded spam or phish, "full headers below"). The `Received:`
 * chain is read top down, as RFC 5321 §4.4 stacks it: the top header was added by the reporter's last host,
 * and each header's `by` host is the receiver, its `from` part the machine that handed the mail over. The
 * reporter's hosts are the `by` hosts from the top down, and any `from` host in their registered domain or at
 * a private address; the first `from` outside them is where the mail entered the reporter's network — the
 * sending server, the source. Headers below it were written by the sender's own machines and may be forged:
 * their hosts are bystanders. All header lines (From:, To:, Message-ID:, DKIM-Signature: …) are settled: the
 * addresses and domains in them are not read as prose (a spoofed `From:` names the impersonated brand).
 */
const HEADER =
  /^[>\s]*(?:Received|From|To|Cc|Bcc|Subject|Date|Message-ID|Return-Path|Reply-To|Sender|Delivered-To|Envelope-To|DKIM-Signature|Authentication-Results|ARC-[\w-]+|Received-SPF|MIME-Version|Content-[\w-]+|X-[\w-]+|List-[\w-]+|Thread-[\w-]+|In-Reply-To|References|Precedence|Importance|User-Agent):[ \t]/i;
const CONTINUATION = /^[>]*[ \t]+\S/;

interface Received {
  readonly line: number;
  readonly text: string;
  readonly helo?: string | undefined;
  readonly rdns?: string | undefined;
  readonly ip?: string | undefined;
  readonly by?: string | undefined;
  readonly time?: string | undefined;
}

export const receivedChainReader: BlockReader = {
  kind: 'received',
  read(lines, context) {
    const finding = emptyFinding();
    const chains: Received[][] = [];
    let chain: Received[] = [];
    let inHeaders = false;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (HEADER.test(line)) {
        inHeaders = true;
        finding.lines.add(i);
        let text = line;
        let j = i + 1;
        while (j < lines.length && CONTINUATION.test(lines[j]!) && !HEADER.test(lines[j]!)) {
          finding.lines.add(j);
          text += ` ${lines[j]!.replace(/^[>]*/, '').trim()}`;
          j++;
        }
        if (/^[>\s]*Received:/i.test(line))
          chain.push(parseReceived(i, text.replace(/^[>\s]*Received:\s*/i, '')));
        i = j - 1;
        continue;
      }
      if (inHeaders && line.trim() === '') {
        inHeaders = false;
        if (chain.length > 0) chains.push(chain);
        chain = [];
      }
    }
    if (chain.length > 0) chains.push(chain);
    for (const c of chains) readChain(c, context, finding);
    return finding;
  },
};

function parseReceived(line: number, text: string): Received {
  const from = /\bfrom\s+(\S+)(?:\s+\(([^)]*)\))?/i.exec(text);
  const by = /\bby\s+([^\s;()]+)/i.exec(text);
  let helo = from?.[1];
  let ip: string | undefined;
  let rdns: string | undefined;
  const paren = from?.[2];
  if (paren) {
    const bracket = /\[(?:IPv6:)?([0-9a-fA-F:.]+)\]/.exec(paren);
    ip = ipOf(bracket?.[1]);
    const name = /^\s*([a-z0-9][a-z0-9.-]*\.[a-z]{2,})\s/i.exec(paren);
    if (name && name[1]!.toLowerCase() !== 'unknown') rdns = name[1]!.toLowerCase();
  }
  if (helo?.startsWith('[')) {
    ip ??= ipOf(helo.replace(/^\[(?:IPv6:)?|\]$/g, ''));
    helo = undefined;
  }
  const date = text.includes(';') ? text.slice(text.lastIndexOf(';') + 1).trim() : undefined;
  return {
    line,
    text,
    helo: helo?.toLowerCase(),
    rdns,
    ip,
    by: by?.[1]?.toLowerCase(),
    time: parseSourceTime(date)?.iso,
  };
}

function readChain(chain: readonly Received[], context: BlockContext, finding: BlockFinding): void {
  const ownDomains = new Set(context.ownDomains);
  let handedOver = false;
  chain.forEach((r, index) => {
    const names = [r.helo, r.rdns].filter((n): n is string => typeof n === 'string' && n.includes('.'));
    if (handedOver) {
      for (const n of [...names, r.ip, r.by]) if (n) finding.bystanders.add(n);
      return;
    }
    if (r.by && (index === 0 || ownDomains.has(registeredDomain(r.by)) || finding.own.has(r.by))) {
      finding.own.add(r.by);
      ownDomains.add(registeredDomain(r.by));
    }
    const internal =
      (r.ip !== undefined && isPrivate(r.ip)) ||
      names.some((n) => ownDomains.has(registeredDomain(n)) || finding.own.has(n));
    if (internal) {
      for (const n of names) finding.own.add(n);
      if (r.ip) finding.own.add(r.ip);
      return;
    }
    if (!r.ip && names.length === 0) return;
    handedOver = true;
    const source: BlockSource = {
      kind: 'received',
      ip: r.ip,
      fqdn: r.ip ? undefined : names[0],
      line: r.line,
      time: r.time,
      extra: {
        ...(r.helo ? { helo: r.helo } : {}),
        ...(r.rdns ? { reverse_dns: r.rdns } : {}),
        ...(r.by ? { received_by: r.by } : {}),
      },
    };
    finding.sources.push(source);
  });
  for (const own of finding.own) ownDomains.add(registeredDomain(own));
}

function isPrivate(ip: string): boolean {
  if (ip.includes(':')) return /^(?:fe[89ab]|f[cd]|::1$)/i.test(ip);
  const [a = 0, b = 0] = ip.split('.').map(Number);
  return (
    a === 10 ||
    a === 127 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 100 && b >= 64 && b <= 127)
  );
}
