import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The per-case reply secret. A case reference (`AUP-000004`) is sequential and a notice's Message-ID is
 * seen by everyone on its thread, so neither proves that a mail comes from the notice's recipient. Each
 * notice's Reply-To therefore names the case *and* a token derived from the desk secret:
 *
 *     abuse+aup-000004.<token>@desk.example
 *     token = first 20 characters of base32(HMAC-SHA256(desk secret, "aupdesk reply v1 " + case number))
 *
 * Only the notice's recipient saw that address (it is in no public place, and no other mail of ours
 * carries it). A reply counts as the customer's only when it comes from an address the registry holds
 * for the customer and carries the token for its case (reply-threading.ts); the token is compared in
 * constant time. The desk secret is AUPDESK_SECRET, else `<data>/secret` made on first start
 * (docs/operations.md); rotating it invalidates the Reply-To addresses of notices already sent (replies to
 * them are kept as third-party messages for an analyst to confirm).
 */

const TOKEN_LENGTH = 20;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function replyToken(secret: Uint8Array, caseNumber: string): string {
  const mac = createHmac('sha256', secret).update(`aupdesk reply v1 ${caseNumber}`, 'utf8').digest();
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of mac) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < TOKEN_LENGTH) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    if (out.length >= TOKEN_LENGTH) break;
  }
  return out;
}

/** Whether `token` is the reply token of `caseNumber`, compared in constant time. */
export function isReplyToken(secret: Uint8Array, caseNumber: string, token: string): boolean {
  const expected = Buffer.from(replyToken(secret, caseNumber), 'utf8');
  const given = Buffer.from(token.toLowerCase(), 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The case's Reply-To: `local+aup-<case>.<token>@domain` from the desk mailbox `replyTo` (a bare address or
 * `"Name" <address>`; the display name is kept).
 */
export function caseReplyAddress(replyTo: string, caseNumber: string, secret: Uint8Array): string {
  const angle = /^(.*)<([^<>]+)>\s*$/.exec(replyTo);
  const address = (angle ? angle[2]! : replyTo).trim();
  const at = address.lastIndexOf('@');
  if (at <= 0) return replyTo;
  const local = address.slice(0, at).replace(/\+.*$/, '');
  const tagged = `${local}+aup-${caseNumber.toLowerCase()}.${replyToken(secret, caseNumber)}${address.slice(at)}`;
  return angle ? `${angle[1]!}<${tagged}>` : tagged;
}

export interface ReplyTokenClaim {
  readonly caseNumber: string;
  readonly token: string;
}

const TAGGED = /\+aup-([a-z0-9][a-z0-9._-]*?)\.([a-z2-7]{20})@/gi;

/** Every `(case, token)` pair the given recipient addresses (or header values) name. */
export function replyTokenClaims(values: readonly string[]): ReplyTokenClaim[] {
  const out: ReplyTokenClaim[] = [];
  for (const value of values) {
    for (const m of value.matchAll(TAGGED))
      out.push({ caseNumber: m[1]!.toUpperCase(), token: m[2]!.toLowerCase() });
  }
  return out;
}
