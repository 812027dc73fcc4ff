/**
 * HTML built with escaping by default: `html\`<p>${value}</p>\`` escapes every interpolated value unless it is
 * already `SafeHtml` (the result of another `html` template or of `trustedHtml` on markup we generated).
 * Complaint content, policy text and query parameters are attacker- or author-controlled: they only ever
 * reach a page through this, so forgetting to escape is not possible by accident.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/** Markup that aupdesk generated itself with its own escaping (the policy renderer); never user input. */
export function trustedHtml(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
