import { createHash } from 'node:crypto';
import { type HtmlValue, html, type SafeHtml } from './safe-html.js';

/**
 * The frame of every public page and the one small stylesheet they share. Pages load nothing from anywhere
 * else (no CDN, no fonts, no scripts): the Content-Security-Policy sent with them allows only this origin's
 * stylesheet and form posts to itself.
 */

export const STYLESHEET_PATH = '/public/aupdesk.css';

export const PUBLIC_STYLESHEET = `
:root{--fg:#1b1f24;--muted:#57606a;--line:#d8dee4;--accent:#0b5cad;--bad:#a40e26;--ok:#1a7f37;--bg-soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
header.site{border-bottom:1px solid var(--line);background:var(--bg-soft)}
header.site nav{max-width:52rem;margin:0 auto;padding:.7rem 1.25rem;display:flex;gap:1.2rem;flex-wrap:wrap;align-items:baseline}
header.site .brand{font-weight:700;color:var(--fg);text-decoration:none;margin-right:auto}
header.site a{color:var(--accent)}
main{max-width:52rem;margin:0 auto;padding:2rem 1.25rem}
h1{font-size:1.8rem;margin:0 0 1rem}h2{font-size:1.3rem;margin:2.2rem 0 .6rem;border-bottom:1px solid var(--line);padding-bottom:.3rem}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
a{color:var(--accent)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1.5rem}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
ol.clauses{list-style:none;padding-left:0}ol.clauses li{margin:.6rem 0}
.num{font-weight:600;font-variant-numeric:tabular-nums;margin-right:.25rem}
em.note,.muted{color:var(--muted)}
.notice{border:1px solid var(--line);border-left:4px solid var(--accent);padding:.7rem 1rem;margin:1rem 0;background:var(--bg-soft)}
.notice.bad{border-left-color:var(--bad)}.notice.ok{border-left-color:var(--ok)}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{text-align:left;vertical-align:top;border-bottom:1px solid var(--line);padding:.35rem .5rem}
td.old{color:var(--bad)}td.new{color:var(--ok)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{white-space:pre-wrap;word-break:break-word;background:var(--bg-soft);padding:.6rem;border:1px solid var(--line)}
form.report fieldset{border:1px solid var(--line);margin:0 0 1.2rem;padding:.8rem 1rem}
form.report legend{font-weight:600;padding:0 .3rem}
form.report label{display:block;margin:.6rem 0 .2rem;font-weight:600}
form.report input[type=text],form.report input[type=email],form.report input[type=datetime-local],form.report textarea{width:100%;padding:.45rem;border:1px solid #afb8c1;border-radius:4px;font:inherit}
form.report textarea{min-height:10rem}
form.report .hint{font-weight:400;color:var(--muted);font-size:.9rem}
form.report button{font:inherit;padding:.5rem 1.2rem;border:0;border-radius:4px;background:var(--accent);color:#fff;cursor:pointer}
ul.errors{color:var(--bad)}
footer.site{max-width:52rem;margin:0 auto;padding:1rem 1.25rem 2rem;color:var(--muted);font-size:.9rem;border-top:1px solid var(--line)}
@media print{header.site,footer.site{display:none}main{max-width:none}}
`.trim();

/** Strong validator for the stylesheet, so browsers revalidate cheaply. */
export const STYLESHEET_ETAG = `"${createHash('sha256').update(PUBLIC_STYLESHEET).digest('base64url').slice(0, 22)}"`;

/** Sent with every public page. */
export const PUBLIC_CSP =
  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

export interface LayoutInput {
  readonly title: string;
  /** Provider display name for the header, when a policy is published. */
  readonly providerName?: string | undefined;
  readonly body: SafeHtml;
  /** Extra elements for <head> (a refresh while a report is processed). */
  readonly head?: HtmlValue;
}

export function layout(input: LayoutInput): string {
  const brand = input.providerName ? `${input.providerName} abuse desk` : 'Abuse desk';
  return html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aupdesk">
<meta name="referrer" content="no-referrer">
<title>${input.title} · ${brand}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
${input.head}
</head>
<body>
<header class="site"><nav>
<a class="brand" href="/aup">${brand}</a>
<a href="/aup">Acceptable use policy</a>
<a href="/report">Report abuse</a>
<a href="/dmca">Copyright (DMCA)</a>
<a href="/.well-known/security.txt">security.txt</a>
</nav></header>
<main>
${input.body}
</main>
<footer class="site">Served by aupdesk. Complaints are stored as received and handled under the policy shown on <a href="/aup">/aup</a>.</footer>
</body>
</html>
`.value;
}

/** A page that only says something went wrong (404, 413, 429, 400), in the same frame. */
export function messagePage(input: {
  title: string;
  message: string;
  providerName?: string | undefined;
  details?: readonly string[];
  back?: { href: string; label: string };
}): string {
  return layout({
    title: input.title,
    providerName: input.providerName,
    body: html`<h1>${input.title}</h1>
<div class="notice bad"><p>${input.message}</p>
${input.details && input.details.length > 0 ? html`<ul class="errors">${input.details.map((d) => html`<li>${d}</li>`)}</ul>` : ''}
</div>
${input.back ? html`<p><a href="${input.back.href}">${input.back.label}</a></p>` : ''}`,
  });
}
