import type { ClauseChange, ClauseRef, FieldChange, PolicyDiff } from '../../policy/policy-diff.js';
import type { LoadedPolicy, PolicyHistory } from '../../policy/policy-loader.js';
import { describeDuration, formatDate, renderPolicyHtml } from '../../policy/policy-render.js';
import type { PolicyDocument } from '../../policy/policy-schema.js';
import { layout } from './public-layout.js';
import { html, type SafeHtml, trustedHtml } from './safe-html.js';

/**
 * The published AUP pages: the version in force, any earlier or announced version, and the difference between
 * two with the material-change verdict. The policy text itself comes from the policy renderer
 * (src/policy/policy-render.ts), so the page a customer reads is the document the engine enforces.
 */

export interface VersionTimeline {
  /** The version in force now; undefined when every version still lies in the future. */
  readonly current: LoadedPolicy | undefined;
  /** Versions no longer in force, newest first. */
  readonly earlier: readonly LoadedPolicy[];
  /** Published but not yet effective (announced changes), soonest first. */
  readonly upcoming: readonly LoadedPolicy[];
}

export function versionTimeline(history: PolicyHistory, now: Date): VersionTimeline {
  const inForce = history.versions.filter((p) => Date.parse(p.document.effective_at) <= now.getTime());
  const upcoming = history.versions.filter((p) => Date.parse(p.document.effective_at) > now.getTime());
  return {
    current: inForce[inForce.length - 1],
    earlier: inForce.slice(0, -1).reverse(),
    upcoming,
  };
}

/** The `<main>` content of the policy renderer's page (its own frame and inline style are dropped). */
export function policyBodyHtml(doc: PolicyDocument): SafeHtml {
  const page = renderPolicyHtml(doc);
  const start = page.indexOf('<main>');
  const end = page.lastIndexOf('</main>');
  // renderPolicyHtml escapes every string of the document; we only cut its frame away.
  return trustedHtml(start === -1 || end === -1 ? '' : page.slice(start + '<main>'.length, end).trim());
}

function versionLink(p: LoadedPolicy): SafeHtml {
  const v = p.document.version;
  return html`<a href="/aup/${encodeURIComponent(v)}">${v}</a>`;
}

function versionsSection(history: PolicyHistory, shown: LoadedPolicy, timeline: VersionTimeline): SafeHtml {
  const rows = history.versions
    .slice()
    .reverse()
    .map((p) => {
      const state =
        p === timeline.current
          ? 'in force'
          : timeline.upcoming.includes(p)
            ? 'announced, not yet in force'
            : 'superseded';
      const previous = history.versions[history.versions.indexOf(p) - 1];
      const diff = previous
        ? html` · <a href="/aup/diff?from=${encodeURIComponent(previous.document.version)}&amp;to=${encodeURIComponent(p.document.version)}">changes from ${previous.document.version}</a>`
        : '';
      return html`<tr><td>${p === shown ? html`<strong>${p.document.version}</strong>` : versionLink(p)}</td><td>${formatDate(p.document.published_at)}</td><td>${formatDate(p.document.effective_at)}</td><td>${state}${diff}</td></tr>`;
    });
  const pickers = history.versions.map(
    (p) => html`<option value="${p.document.version}">${p.document.version}</option>`,
  );
  const compare =
    history.versions.length > 1
      ? html`<form method="get" action="/aup/diff"><label>Compare <select name="from">${pickers}</select></label> <label>with <select name="to">${history.versions
          .slice()
          .reverse()
          .map(
            (p) => html`<option value="${p.document.version}">${p.document.version}</option>`,
          )}</select></label> <button type="submit">Show changes</button></form>`
      : '';
  return html`<section id="versions"><h2>Versions</h2>
<table><thead><tr><th>Version</th><th>Published</th><th>Effective</th><th></th></tr></thead><tbody>
${rows}
</tbody></table>
${compare}
</section>`;
}

export function renderPolicyPage(
  history: PolicyHistory,
  shown: LoadedPolicy,
  timeline: VersionTimeline,
): string {
  const doc = shown.document;
  let banner: SafeHtml | string = '';
  if (shown !== timeline.current) {
    const current = timeline.current;
    banner = timeline.upcoming.includes(shown)
      ? html`<div class="notice"><p>This version takes effect on ${formatDate(doc.effective_at)}.${current ? html` Until then <a href="/aup">version ${current.document.version}</a> applies.` : ''}</p></div>`
      : html`<div class="notice"><p>This is an earlier version (${doc.version}), kept for reference.${current ? html` The version in force is <a href="/aup">${current.document.version}</a>.` : ''}</p></div>`;
  } else if (timeline.upcoming.length > 0) {
    const next = timeline.upcoming[0]!;
    banner = html`<div class="notice"><p>A new version, <a href="/aup/${encodeURIComponent(next.document.version)}">${next.document.version}</a>, takes effect on ${formatDate(next.document.effective_at)} (<a href="/aup/diff?from=${encodeURIComponent(doc.version)}&amp;to=${encodeURIComponent(next.document.version)}">what changes</a>).</p></div>`;
  }
  return layout({
    title: `${doc.title} ${doc.version}`,
    providerName: doc.provider.name,
    body: html`${banner}
<article class="policy">
${policyBodyHtml(doc)}
</article>
<p class="muted">Version ${doc.version}, effective ${formatDate(doc.effective_at)}. sha256 of the published source: <code>${shown.sha256}</code>.</p>
${versionsSection(history, shown, timeline)}`,
  });
}

function showValue(value: unknown): string {
  if (value === undefined) return '(none)';
  if (typeof value === 'string') return value;
  return JSON.stringify(value, null, 1).replace(/\n\s*/g, ' ');
}

function changeRows(changes: readonly FieldChange[]): SafeHtml {
  return html`<table><thead><tr><th>Field</th><th>Before</th><th>After</th><th>Material?</th></tr></thead><tbody>
${changes.map(
  (c) =>
    html`<tr><td><code>${c.path}</code></td><td class="old">${showValue(c.old)}</td><td class="new">${showValue(c.new)}</td><td>${c.material ? html`<strong>yes</strong>` : 'no'} <span class="muted">(${c.note})</span></td></tr>`,
)}
</tbody></table>`;
}

function refList(title: string, refs: readonly ClauseRef[]): SafeHtml | string {
  if (refs.length === 0) return '';
  return html`<h3>${title}</h3><ul>${refs.map((r) => html`<li><code>${r.id}</code> ${r.title}</li>`)}</ul>`;
}

function changedList(title: string, changed: readonly ClauseChange[]): SafeHtml | string {
  if (changed.length === 0) return '';
  return html`<h3>${title}</h3>${changed.map((c) => html`<h4><code>${c.id}</code> ${c.title}</h4>${changeRows(c.changes)}`)}`;
}

export function renderDiffPage(diff: PolicyDiff, providerName: string): string {
  const verdict = diff.verdict.material
    ? html`<div class="notice bad"><p><strong>Material change.</strong> Customers are bound by the new version under the policy's change terms.</p><ul>${diff.verdict.reasons.map((r) => html`<li>${r}</li>`)}</ul></div>`
    : html`<div class="notice ok"><p><strong>Not a material change.</strong></p><ul>${(diff.verdict.editorial.length > 0 ? diff.verdict.editorial : ['no differences']).map((r) => html`<li>${r}</li>`)}</ul></div>`;
  return layout({
    title: `Changes ${diff.from} → ${diff.to}`,
    providerName,
    body: html`<h1>Changes from <a href="/aup/${encodeURIComponent(diff.from)}">${diff.from}</a> to <a href="/aup/${encodeURIComponent(diff.to)}">${diff.to}</a></h1>
${verdict}
<h2>Clauses</h2>
${diff.clauses.added.length + diff.clauses.removed.length + diff.clauses.changed.length === 0 && !diff.clauses.reordered ? html`<p>No clause changed.</p>` : ''}
${refList('Added', diff.clauses.added)}
${refList('Removed', diff.clauses.removed)}
${changedList('Changed', diff.clauses.changed)}
${diff.clauses.reordered ? html`<p>The clauses are listed in a different order.</p>` : ''}
${diff.terms.length > 0 ? html`<h2>Terms</h2>${changeRows(diff.terms)}` : ''}
${diff.obligations.added.length + diff.obligations.removed.length + diff.obligations.changed.length > 0 ? html`<h2>Obligations</h2>${refList('Added', diff.obligations.added)}${refList('Removed', diff.obligations.removed)}${changedList('Changed', diff.obligations.changed)}` : ''}
${diff.document.length > 0 ? html`<h2>Document</h2>${changeRows(diff.document)}` : ''}
<p><a href="/aup#versions">All versions</a></p>`,
  });
}

/** The DMCA designated agent page (17 U.S.C. 512(c)(2)) and what a notice must contain (512(c)(3)(A)). */
export function renderDmcaPage(doc: PolicyDocument, form?: SafeHtml): string | undefined {
  const dmca = doc.terms.dmca;
  if (!dmca) return undefined;
  const agent = dmca.designated_agent;
  const postal = agent.postal;
  const address = [postal.attention, postal.organisation, ...postal.lines, postal.country].filter(
    (l): l is string => typeof l === 'string' && l !== '',
  );
  const facts: Array<[string, SafeHtml | string]> = [];
  if (agent.name) facts.push(['Designated agent', agent.name]);
  if (agent.organisation) facts.push(['Organisation', agent.organisation]);
  facts.push(['Postal address', html`${address.map((l, i) => html`${i > 0 ? html`<br>` : ''}${l}`)}`]);
  if (agent.email) facts.push(['Email', html`<a href="mailto:${agent.email}">${agent.email}</a>`]);
  if (agent.phone) facts.push(['Telephone', agent.phone]);
  if (agent.fax) facts.push(['Fax', agent.fax]);
  const restore = dmca.counter_notice_restore_business_days;
  const repeat = dmca.repeat_infringer;
  return layout({
    title: 'Copyright infringement (DMCA)',
    providerName: doc.provider.name,
    body: html`<h1>Copyright infringement notices (DMCA)</h1>
${dmca.text ? html`<p>${dmca.text}</p>` : ''}
<h2>Designated agent</h2>
<dl class="facts">${facts.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
<h2>What a notice must contain</h2>
<p>Under 17 U.S.C. § 512(c)(3)(A) a notification must be a written communication to the designated agent that includes:</p>
<ol>
<li>a physical or electronic signature of a person authorised to act on behalf of the owner of the right;</li>
<li>identification of the copyrighted work claimed to have been infringed (or a representative list);</li>
<li>identification of the material that is claimed to be infringing, with information reasonably sufficient to locate it (for example its URL);</li>
<li>information reasonably sufficient to contact the complaining party (address, telephone number, email);</li>
<li>a statement of good-faith belief that the use is not authorised by the copyright owner, its agent or the law;</li>
<li>a statement that the information is accurate and, under penalty of perjury, that the complaining party is authorised to act on behalf of the owner.</li>
</ol>
${dmca.require_complete_notice ? html`<p>Incomplete notices are answered with what is missing; they are not acted on.</p>` : ''}
<h2>Counter-notices and repeat infringers</h2>
<p>After a valid counter-notice (17 U.S.C. § 512(g)) the material is restored between ${restore.min} and ${restore.max} business days later unless the complaining party reports a court action.
A customer with ${repeat.strikes} valid notices within ${describeDuration(repeat.window)} is treated as a repeat infringer (remedy: ${repeat.remedy}).</p>
<p>Incomplete notices that identify the work, the material and how to reach you are answered with a request for what is missing; we do not act on them or contact our customer until they are complete. A complete notice is forwarded to our customer, who must remove the material within ${describeDuration(dmca.takedown_window)}.</p>
${form ?? html`<p class="muted">You can also send a notice through the <a href="/report">complaint form</a>; it is recorded as received and checked for the elements above.</p>`}`,
  });
}
