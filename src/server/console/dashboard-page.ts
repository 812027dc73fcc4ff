import type { DailySeries, DashboardData } from '../../cases/queries/dashboard.js';
import { statusBadge, time } from '../views/format.js';
import { type Html, href, html, jsonData, pathOf } from '../views/html.js';

/**
 * The dashboard: figures as text first (readable without script, by screen readers, and in the tests),
 * then charts drawn by Chart.js from JSON data blocks (inert `application/json` scripts).
 */

interface ChartSpec {
  type: 'bar' | 'line';
  labels: string[];
  series: Array<{ label: string; data: number[] }>;
  stacked?: boolean;
  horizontal?: boolean;
}

function topSeries(s: DailySeries, n: number): ChartSpec['series'] {
  const head = s.series.slice(0, n).map((x) => ({ label: x.key, data: x.counts }));
  const rest = s.series.slice(n);
  if (rest.length > 0) {
    const other = s.days.map((_, i) => rest.reduce((sum, x) => sum + (x.counts[i] ?? 0), 0));
    head.push({ label: 'other', data: other });
  }
  return head;
}

function chart(id: string, title: string, spec: ChartSpec, summary: Html): Html {
  return html`<figure class="chart" aria-labelledby="${id}-t">
  <figcaption id="${id}-t"><strong>${title}</strong></figcaption>
  <div class="canvas-box"><canvas data-chart="${id}-data" role="img" aria-label="${title}"></canvas></div>
  <script type="application/json" id="${id}-data">${jsonData(spec)}</script>
  <details><summary>Figures</summary>${summary}</details>
</figure>`;
}

function seriesTable(s: DailySeries): Html {
  if (s.series.length === 0) return html`<p class="muted">None in this window.</p>`;
  return html`<table><thead><tr><th scope="col">Key</th><th scope="col" class="num">Total</th></tr></thead><tbody>${s.series.map(
    (x) => html`<tr><td>${x.key}</td><td class="num">${x.counts.reduce((a, b) => a + b, 0)}</td></tr>`,
  )}</tbody></table>`;
}

function hours(h: number | null): string {
  if (h === null) return '—';
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} d`;
}

export function renderDashboard(d: DashboardData): Html {
  const shortDays = d.eventsByClassification.days.map((x) => x.slice(5));
  const openTotal = d.openByStatus.reduce((a, b) => a + b.count, 0);
  return html`<h1>Dashboard</h1>
<p class="muted">Last 30 days: ${time(d.since)} – ${time(d.until)} (figures refresh every 30 s)</p>
<div class="cards">
  <div class="card"><div class="muted">Open cases</div><div class="value" id="open-total">${openTotal}</div></div>
  <div class="card"><div class="muted">Cases opened</div><div class="value">${d.totals.casesOpened}</div></div>
  <div class="card"><div class="muted">Reports received</div><div class="value">${d.totals.reports}</div></div>
  <div class="card"><div class="muted">Events</div><div class="value">${d.totals.events}</div></div>
  <div class="card"><div class="muted">Median time to cure</div><div class="value" id="median-cure">${hours(d.medianHoursToCure)}</div><small>${d.curedCount} cured</small></div>
  <div class="card"><div class="muted">Median time to suspension</div><div class="value" id="median-suspension">${hours(d.medianHoursToSuspension)}</div><small>${d.suspendedCount} suspended</small></div>
</div>
<div class="charts">
${chart(
  'events',
  'Events per day by classification',
  { type: 'bar', labels: shortDays, series: topSeries(d.eventsByClassification, 7), stacked: true },
  seriesTable(d.eventsByClassification),
)}
${chart(
  'channels',
  'Reports per day by channel',
  { type: 'line', labels: shortDays, series: topSeries(d.reportsByChannel, 6) },
  seriesTable(d.reportsByChannel),
)}
${chart(
  'states',
  'Open cases by state',
  {
    type: 'bar',
    labels: d.openByStatus.map((s) => s.status),
    series: [{ label: 'cases', data: d.openByStatus.map((s) => s.count) }],
    horizontal: true,
  },
  html`<ul>${d.openByStatus.map((s) => html`<li><a href="${href('/console', { state: s.status })}">${statusBadge(s.status)}</a> ${s.count}</li>`)}</ul>`,
)}
${chart(
  'services',
  'Top offending services (cases opened)',
  {
    type: 'bar',
    labels: d.topServices.map((s) => s.serviceRef),
    series: [{ label: 'cases', data: d.topServices.map((s) => s.cases) }],
    horizontal: true,
  },
  html`<ol>${d.topServices.map((s) => html`<li><a href="${pathOf('console', 'services', s.serviceId)}">${s.serviceRef}</a> (${s.customerRef}): ${s.cases}</li>`)}</ol>`,
)}
</div>`;
}
