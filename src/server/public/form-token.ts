import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * CSRF protection for the public complaint form, which has no session: a signed double-submit token. The
 * form page sets a random nonce in an HttpOnly, SameSite=Strict cookie and embeds `<issued>.<nonce>.<mac>`
 * in a hidden field; a post is accepted only when the field's MAC is ours, it is younger than `maxAgeMs`, and
 * its nonce equals the cookie's. Another site can make a browser post the form but can neither read the
 * field nor set our cookie, and the MAC stops a forged field. No server-side state, so any api process
 * sharing the secret accepts the token.
 *
 * The same secret signs report status links (`statusTag`), so a reporter can come back to the status of
 * their own report without report ids being enumerable.
 */

export const FORM_COOKIE = 'aupdesk_form';
const DEFAULT_MAX_AGE_MS = 2 * 60 * 60 * 1000;

export interface IssuedFormToken {
  readonly token: string;
  readonly nonce: string;
}

function mac(secret: Buffer, purpose: string, message: string): string {
  return createHmac('sha256', secret).update(`${purpose}\0${message}`).digest('base64url');
}

export function issueFormToken(secret: Buffer, now: Date, nonce?: string): IssuedFormToken {
  const n = nonce && /^[A-Za-z0-9_-]{16,64}$/.test(nonce) ? nonce : randomBytes(18).toString('base64url');
  const issued = now.getTime().toString(36);
  return { token: `${issued}.${n}.${mac(secret, 'form', `${issued}.${n}`)}`, nonce: n };
}

export type FormTokenCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function checkFormToken(
  secret: Buffer,
  token: string | undefined,
  cookieNonce: string | undefined,
  now: Date,
  maxAgeMs = DEFAULT_MAX_AGE_MS,
): FormTokenCheck {
  if (!token) return { ok: false, reason: 'the form token is missing' };
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'the form token is malformed' };
  const [issued, nonce, given] = parts as [string, string, string];
  if (!safeEqual(given, mac(secret, 'form', `${issued}.${nonce}`))) {
    return { ok: false, reason: 'the form token is not valid' };
  }
  const at = Number.parseInt(issued, 36);
  if (!Number.isFinite(at) || now.getTime() - at > maxAgeMs || at - now.getTime() > 60_000) {
    return { ok: false, reason: 'the form has expired; reload the page and send it again' };
  }
  if (!cookieNonce || !safeEqual(nonce, cookieNonce)) {
    return { ok: false, reason: 'the form cookie is missing or does not match (are cookies enabled?)' };
  }
  return { ok: true };
}

/** A short MAC that makes `/report/status/<id>-<tag>` unguessable from the id alone. */
export function statusTag(secret: Buffer, inboxId: string): string {
  return mac(secret, 'report-status', inboxId).slice(0, 22);
}

export function checkStatusTag(secret: Buffer, inboxId: string, tag: string): boolean {
  return safeEqual(tag, statusTag(secret, inboxId));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The value of one cookie from a Cookie header (no decoding: our values are base64url). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
