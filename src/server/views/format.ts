import { type Html, html } from './html.js';

/** Small presenters shared by console and portal pages: times in UTC, durations, state badges. */

export function utc(d: Date | string | null | undefined): string {
  if (d === null || d === undefined) return '—';
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return '—';
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A `<time>` element with the machine-readable instant and a readable UTC text. */
export function time(d: Date | string | null | undefined): Html {
  if (d === null || d === undefined) return html`<span class="muted">—</span>`;
  const date = typeof d === 'string' ? new Date(d) : d;
  if (Number.isNaN(date.getTime())) return html`<span class="muted">—</span>`;
  return html`<time datetime="${date.toISOString()}">${utc(date)}</time>`;
}

/** "in 2d 4h", "3h ago": how far an instant is from now, coarse on purpose. */
export function relative(d: Date | null | undefined, now: Date): string {
  if (!d) return '';
  const ms = d.getTime() - now.getTime();
  const text = duration(Math.abs(ms));
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  const days = Math.floor(hours / 24);
  return `${days}d ${hours % 24}h`;
}

/** Due time with urgency: overdue and due within a day are marked for the eye (and in words). */
export function due(d: Date | null, now: Date): Html {
  if (!d) return html`<span class="muted">—</span>`;
  const ms = d.getTime() - now.getTime();
  const cls = ms < 0 ? 'due overdue' : ms < 24 * 3600_000 ? 'due soon' : 'due';
  return html`<span class="${cls}">${time(d)} <small>(${ms < 0 ? 'overdue ' : ''}${relative(d, now)})</small></span>`;
}

export function statusBadge(status: string): Html {
  return html`<span class="badge status-${status.replace(/[^a-z-]/g, '')}">${status.replace(/-/g, ' ')}</span>`;
}

export function severityBadge(severity: string): Html {
  return html`<span class="badge sev-${severity.replace(/[^a-z]/g, '')}">${severity}</span>`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
