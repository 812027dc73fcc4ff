import { AupError } from '../errors.js';

/**
 * The one mark our outgoing mail carries so that intake knows it when it comes back: `X-Loop: <token>`.
 *
 * A notice forwarded back to abuse@ by a customer's rule, an acknowledgement answered by a vacation
 * responder that quotes it whole, a relay that bounces it to the wrong place: each would otherwise be read
 * as a new complaint, acknowledged, and start the ping-pong every abuse desk fears. The mail adapters
 * (actions/) write the header and the SMTP intake (intake/channels/) recognises it; both ask `loopToken()`
 * here for the value, so what we send is exactly what we recognise. It lives on the intake side of the data
 * flow because that is where it is a rule (what counts as our own mail); the actions only stamp it.
 *
 * The token is `AUPDESK_LOOP_TOKEN` when set; else the address of `AUPDESK_MAIL_FROM` (the procmail
 * convention: X-Loop names the mailbox that sent it, so two desks — a provider and a reseller both running
 * aupdesk — do not take each other's notices for their own); else `aupdesk`.
 */

export const X_LOOP_HEADER = 'X-Loop';

export const DEFAULT_LOOP_TOKEN = 'aupdesk';

/**
 * A header value no mail library rewrites: visible ASCII without spaces (nothing to fold at, nothing to
 * encode as an RFC 2047 word), so it comes back byte for byte.
 */
const TOKEN_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** The desk's X-Loop token from the environment (see the module comment). */
export function loopToken(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env.AUPDESK_LOOP_TOKEN?.trim();
  if (configured) {
    if (!TOKEN_PATTERN.test(configured)) {
      throw new AupError(
        'AUP_ERR_CONFIG_INVALID',
        'environment variable AUPDESK_LOOP_TOKEN: must be 1 to 200 visible ASCII characters without spaces',
      );
    }
    return configured;
  }
  const from = env.AUPDESK_MAIL_FROM?.trim() ?? '';
  const address = (
    /<([^<>\s]+@[^<>\s]+)>/.exec(from)?.[1] ?? (/^[^<>\s]+@[^<>\s]+$/.test(from) ? from : '')
  ).toLowerCase();
  return TOKEN_PATTERN.test(address) ? address : DEFAULT_LOOP_TOKEN;
}

/** The header our outgoing notices and acknowledgements carry. */
export function loopHeaders(token: string): Record<string, string> {
  return { [X_LOOP_HEADER]: token };
}

/** Whether any of a message's X-Loop values is our token (compared as the intake reads headers). */
export function carriesLoopToken(values: readonly string[], token: string): boolean {
  const ours = token.trim().toLowerCase();
  return values.some((v) => v.trim().toLowerCase() === ours);
}
