/**
 * HTML built with escaping by default, for the console and the portal: `html\`<p>${value}</p>\`` escapes
 * every interpolated value unless it is already `Html` (the result of another `html` template, or of
 * `trusted` on markup aupdesk generated itself). Complaint subjects, bodies, headers and file names are
 * attacker-controlled and only ever reach a page through this, so forgetting to escape cannot happen by
 * accident: a plain string is always text.
 *
 * Escaping covers text and quoted attribute values (`"` and `'` are escaped too); attribute values are
 * always written quoted in our templates. URLs built from data go through `href` so a `javascript:` link
 * can never be produced.
 */

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}

/** Markup aupdesk generated with its own escaping (the policy renderer, the diff view); never user input. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/** Joins fragments (a list of rows, say) without a separator. */
export function join(parts: readonly HtmlValue[], separator: HtmlValue = ''): Html {
  const out: string[] = [];
  parts.forEach((p, i) => {
    if (i > 0) out.push(render(separator));
    out.push(render(p));
  });
  return new Html(out.join(''));
}

/**
 * A link target from our own path pieces: each piece is URI-component-encoded, so an id or reference taken
 * from data cannot change the scheme or the path. Query parameters are encoded the same way.
 */
export function href(path: string, query: Record<string, string | number | undefined | null> = {}): string {
  if (!path.startsWith('/')) throw new TypeError(`href must be a site path: ${path}`);
  const qs = Object.entries(query)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return qs === '' ? path : `${path}?${qs}`;
}

/** `/console/cases/AUP-000001`: a path from segments, each encoded. */
export function pathOf(...segments: Array<string | number>): string {
  return `/${segments.map((s) => encodeURIComponent(String(s))).join('/')}`;
}

/**
 * JSON for a `<script type="application/json">` data block: `<`, `>` and `&` are written as unicode
 * escapes so no value can close the element or open a comment, whatever it contains.
 */
export function jsonData(value: unknown): Html {
  const text = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new Html(text);
}
