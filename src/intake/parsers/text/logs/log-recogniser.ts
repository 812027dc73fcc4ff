import { isIPv6 } from 'node:net';
import type { ComplaintCategory } from '../complaint-classifier.js';

/**
 * What one recognised log line says, by the structure of the line: which address is the source of the traffic
 * (the offender, when the line is evidence of abuse), which is its target, and what it is evidence of. Each
 * log format is one file in this folder exporting a `LogRecogniser`; log-recognisers.ts lists them in the
 * order they are tried.
 *
 * A line can be recognised and still name no offender: traffic the reporter's own host sent out (iptables
 * `OUT=` without `IN=`, pf `block out`, Windows Firewall `SEND`), or a reply (a flow from a service port back
 * to a client). Its addresses are then known and settled — never read again from the prose — but none is a
 * source: `source` is undefined and `direction` says why.
 */
export interface Endpoint {
  readonly ip: string;
  readonly port?: number | undefined;
}

export interface LogReading {
  readonly kind: string;
  /** The address the traffic came from: the offender when the line is evidence of abuse. */
  readonly source?: Endpoint | undefined;
  /** The address the traffic went to: the target (the reporter's host, or our customer as a victim). */
  readonly destination?: Endpoint | undefined;
  /** `outbound`/`reply`/`allowed`: the line names no offender (see above; `allowed`: a login that worked). */
  readonly direction: 'inbound' | 'outbound' | 'reply' | 'allowed';
  readonly category?: ComplaintCategory | undefined;
  /** Evidence weight per line for the complaint classifier (see complaint-classifier.ts). */
  readonly weight: number;
  readonly user?: string | undefined;
  readonly protocol?: string | undefined;
  /** The product's own name for what it saw (an IDS signature, an SRX screen). */
  readonly identifier?: string | undefined;
  /**
   * The line's structure does not say whether its source is the offender (an IDS alert about malware traffic,
   * which may be an infected host inside the reporter's network calling out): the event goes to triage.
   */
  readonly roleUnknown?: boolean | undefined;
  /**
   * The line is in the complaint only as evidence (a honeypot or tcpdump excerpt), not a log of ordinary
   * traffic: its sender is a source even when the line does not say what it did.
   */
  readonly asEvidence?: boolean | undefined;
}

export interface LogRecogniser {
  readonly kind: string;
  /** Tried against each line; `read` turns a match into a reading, or declines (undefined). */
  readonly pattern: RegExp;
  read(match: RegExpExecArray, line: string): LogReading | undefined;
}

/** An IPv4 or IPv6 literal as logs print it (validated by `ipOf`). */
export const IP = String.raw`(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7})`;

const V4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** A valid address in its normal form (IPv6 lower-case), or undefined. */
export function ipOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const v = value.trim().replace(/^\[|\]$/g, '');
  if (V4.test(v)) return v;
  return isIPv6(v) ? compressV6(v) : undefined;
}

/** The RFC 5952 text form (`2001:0db8:0:0::5` → `2001:db8::5`), as WHATWG URL serialises IPv6 hosts. */
function compressV6(v: string): string {
  try {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  } catch {
    return v.toLowerCase();
  }
}

export function portOf(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,5}$/.test(value)) return undefined;
  const n = Number(value);
  return n <= 65535 ? n : undefined;
}

export function endpoint(ip: string | undefined, port?: string | undefined): Endpoint | undefined {
  const address = ipOf(ip);
  return address ? { ip: address, port: portOf(port) } : undefined;
}

/**
 * `address:port` / `address.port` / `[v6]:port` as firewalls and IDSs print them. An IPv4 address has four
 * dotted parts, so a fifth is the port; an unbracketed IPv6 address with `:port` is read as address + port only
 * when it has nine groups (the fully expanded form Suricata prints), otherwise as an address alone.
 */
export function splitHostPort(text: string, separator: ':' | '.' = ':'): Endpoint | undefined {
  const t = text.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(t);
  if (bracket) return endpoint(bracket[1], bracket[2]);
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3})(?:[.:](\d{1,5}))?$/.exec(t);
  if (v4) return endpoint(v4[1], v4[2]);
  if (separator === '.') {
    const cut = t.lastIndexOf('.');
    return cut > 0 ? endpoint(t.slice(0, cut), t.slice(cut + 1)) : endpoint(t);
  }
  if (t.split(':').length === 9) {
    const cut = t.lastIndexOf(':');
    return endpoint(t.slice(0, cut), t.slice(cut + 1));
  }
  return endpoint(t);
}

/** Well-known service ports: a TCP flow from one of these to a high port is a server's reply. */
export function isServicePort(port: number | undefined): boolean {
  return port !== undefined && port < 1024;
}
