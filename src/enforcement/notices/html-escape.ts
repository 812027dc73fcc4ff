/**
 * Escaping for the HTML part of our mail. Complaint excerpts, clause text and names are attacker- or
 * customer-controlled: they go into markup only through `escapeHtml`, never as markup.
 */
const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** Plain text as HTML paragraphs: escaped, blank lines split paragraphs, single newlines become <br>. */
export function textToHtml(value: string): string {
  return value
    .split(/\n{2,}/)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`)
    .join('\n');
}
