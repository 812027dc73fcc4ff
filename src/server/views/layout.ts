import type { FastifyReply } from 'fastify';
import { type Html, type HtmlValue, html } from './html.js';

/**
 * The page shell shared by the analyst console and the customer portal: one stylesheet and one script,
 * both served by aupdesk (never a CDN), a skip link, a landmark structure screen readers can walk, and a
 * header naming who is signed in. Pages send themselves through `sendPage`, which adds the headers that
 * keep a page inert even if something slipped past escaping: a Content-Security-Policy without inline
 * script, no framing, no MIME sniffing, no referrer leaking case references to links in evidence.
 */

export interface NavItem {
  readonly href: string;
  readonly label: string;
  readonly key: string;
}

export interface PageUser {
  readonly name: string;
  readonly role: string;
}

export interface PageOptions {
  readonly title: string;
  /** Which product the page belongs to: the header and navigation follow it. */
  readonly area: 'console' | 'portal';
  readonly nav: readonly NavItem[];
  /** The nav key of the current section (marked `aria-current`). */
  readonly current?: string;
  readonly user?: PageUser;
  readonly csrfToken?: string;
  /** Where the sign-out form posts. */
  readonly logoutAction?: string;
  readonly flash?: Flash | undefined;
  readonly body: Html;
  /** Extra scripts from /assets (the chart library on the dashboard). */
  readonly scripts?: readonly string[];
}

export interface Flash {
  readonly kind: 'ok' | 'error';
  readonly text: string;
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function page(o: PageOptions): string {
  const productName = o.area === 'console' ? 'aupdesk console' : 'aupdesk customer portal';
  const home = o.area === 'console' ? '/console' : '/portal';
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${o.title} · ${productName}</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
${(o.scripts ?? []).map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body class="area-${o.area}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="${home}">${productName}</a>
  <nav aria-label="Main">
    <ul>
      ${o.nav.map(
        (n) =>
          html`<li><a href="${n.href}"${n.key === o.current ? html` aria-current="page"` : ''}>${n.label}</a></li>`,
      )}
    </ul>
  </nav>
  ${
    o.user
      ? html`<div class="who">
    <span title="${o.user.role}">${o.user.name}</span>
    ${
      o.logoutAction && o.csrfToken
        ? html`<form method="post" action="${o.logoutAction}" class="inline">
      ${csrfField(o.csrfToken)}<button type="submit" class="link">Sign out</button>
    </form>`
        : ''
    }
  </div>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
${o.flash ? html`<p class="flash flash-${o.flash.kind}" role="${o.flash.kind === 'error' ? 'alert' : 'status'}">${o.flash.text}</p>` : ''}
${o.body}
</main>
</body>
</html>
`;
  return doc.value;
}

/** The hidden field every state-changing form carries (synchroniser token of the session). */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** Sends a page with the security headers; `status` defaults to 200. */
export function sendPage(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('content-security-policy', CONTENT_SECURITY_POLICY)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(body);
}

/** A small error page in the shell of its area (404 for another customer's case, 403, 400). */
export function errorPage(
  o: Omit<PageOptions, 'body' | 'title'> & { status: number; message: string },
): string {
  const title = o.status === 404 ? 'Not found' : o.status === 403 ? 'Not allowed' : 'Request refused';
  return page({
    ...o,
    title,
    body: html`<h1>${title}</h1><p>${o.message}</p><p><a href="${o.area === 'console' ? '/console' : '/portal'}">Back</a></p>`,
  });
}

export type { HtmlValue };
