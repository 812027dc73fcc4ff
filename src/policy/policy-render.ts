import { formatDate, pageModel } from './policy-page.js';
import type { PolicyDocument } from './policy-schema.js';

export { describeDuration, formatDate } from './policy-page.js';

/**
 * The publishable AUP page, generated from the policy document: the page a provider puts on its website and
 * the page aupdesk serves publicly, so what is published and what is enforced come from one source.
 *
 * Both formats serialise one page model (policy-page.ts), so Markdown and HTML always carry the same
 * content. Output is deterministic: no clock, no locale, no random ids. The document is data: in HTML every
 * string is escaped; in Markdown every character that Markdown would interpret is backslash-escaped, so the
 * provider's words render as written and never as markup.
 */

export type RenderFormat = 'md' | 'html';

export function renderPolicy(doc: PolicyDocument, format: RenderFormat): string {
  return format === 'html' ? renderPolicyHtml(doc) : renderPolicyMarkdown(doc);
}

export function renderPolicyMarkdown(doc: PolicyDocument): string {
  const out: string[] = [];
  for (const block of pageModel(doc)) {
    switch (block.kind) {
      case 'heading':
        out.push(`${'#'.repeat(block.level)} ${mdInline(block.text)}`);
        break;
      case 'paragraphs':
        for (const paragraph of paragraphs(block.text)) out.push(paragraph.map(mdLine).join('  \n'));
        break;
      case 'facts':
        out.push(
          block.items.map(([label, value]) => `- **${mdInline(label)}:** ${mdInline(value)}`).join('\n'),
        );
        break;
      case 'list':
        out.push(
          block.items
            .map((item, index) => {
              // Clauses carry their own numbers (1.4, c): a bullet list avoids a second, competing number.
              const marker = block.ordered && !block.numbered ? `${index + 1}.` : '-';
              const heading = [item.number, item.title ? `${item.title}.` : undefined]
                .filter(Boolean)
                .join(' ');
              const title = heading ? `**${mdInline(heading)}** ` : '';
              const indent = ' '.repeat(marker.length + 1);
              const body = item.text
                .split('\n')
                .map((line, i) =>
                  i === 0 ? mdLine(line) : line.trim() === '' ? '' : `${indent}${mdLine(line)}`,
                )
                .join('\n');
              const note = item.note ? `\n\n${indent}*${mdInline(item.note)}*` : '';
              return `${marker} ${title}${body}${note}`;
            })
            .join('\n'),
        );
        break;
    }
  }
  return `${out.join('\n\n')}\n`;
}

export function renderPolicyHtml(doc: PolicyDocument): string {
  const body: string[] = [];
  for (const block of pageModel(doc)) {
    switch (block.kind) {
      case 'heading':
        body.push(`<h${block.level} id="${esc(block.id)}">${esc(block.text)}</h${block.level}>`);
        break;
      case 'paragraphs':
        for (const paragraph of paragraphs(block.text))
          body.push(`<p>${paragraph.map(esc).join('<br>\n')}</p>`);
        break;
      case 'facts':
        body.push(
          `<dl class="facts">\n${block.items.map(([label, value]) => `  <dt>${esc(label)}</dt><dd>${esc(value)}</dd>`).join('\n')}\n</dl>`,
        );
        break;
      case 'list': {
        const tag = block.ordered ? 'ol' : 'ul';
        const items = block.items.map((item) => {
          const id = item.id ? ` id="${esc(item.id)}"` : '';
          const number = item.number ? `<span class="num">${esc(item.number)}</span> ` : '';
          const title = item.title ? `<strong>${esc(item.title)}.</strong> ` : '';
          const text = item.text.split('\n').map(esc).join('<br>\n');
          const note = item.note ? `<br>\n<em class="note">${esc(item.note)}</em>` : '';
          return `  <li${id}>${number}${title}${text}${note}</li>`;
        });
        const cls = block.numbered ? ' class="clauses"' : '';
        body.push(`<${tag}${cls}>\n${items.join('\n')}\n</${tag}>`);
        break;
      }
    }
  }
  const title = `${doc.provider.name} ${doc.title}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="aupdesk">`,
    `<title>${esc(title)}</title>`,
    `<style>${STYLESHEET}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    `<footer>${esc(`${doc.provider.name}, ${doc.title}, version ${doc.version}, effective ${formatDate(doc.effective_at)}.`)}</footer>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

const STYLESHEET = `
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;background:#fff}
main{max-width:46rem;margin:0 auto;padding:2rem 1.25rem}
h1{font-size:1.9rem;margin:0 0 1rem}h2{font-size:1.3rem;margin:2.2rem 0 .6rem;border-bottom:1px solid #d8dee4;padding-bottom:.3rem}
h3{font-size:1.05rem;margin:1.4rem 0 .4rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 1.5rem}
dl.facts dt{font-weight:600}dl.facts dd{margin:0}
ol.clauses{list-style:none;padding-left:0}ol.clauses li{margin:.6rem 0}
.num{font-weight:600;font-variant-numeric:tabular-nums;margin-right:.25rem}
em.note{color:#57606a}
footer{max-width:46rem;margin:0 auto;padding:1rem 1.25rem 2rem;color:#57606a;font-size:.9rem;border-top:1px solid #d8dee4}
@media print{main{max-width:none}h2{break-after:avoid}}
`.trim();

/** Paragraphs (split on blank lines), each a list of its lines. */
function paragraphs(text: string): string[][] {
  return text
    .replace(/\r\n?/g, '\n')
    .split(/\n\s*\n/)
    .map((p) =>
      p
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== ''),
    )
    .filter((p) => p.length > 0);
}

function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escape what Markdown would interpret inside a line (emphasis, links, code, raw HTML, entities). */
function mdInline(text: string): string {
  return text.replace(/[\\`*_[\]<>&|~]/g, (c) => `\\${c}`);
}

/** A line of prose: inline escapes plus the markers that would start a heading, list or quote at line start. */
function mdLine(line: string): string {
  return mdInline(line.trim())
    .replace(/^(#{1,6}|>|[-+=])(\s|$)/, '\\$1$2')
    .replace(/^(\d+)([.)])(\s|$)/, '$1\\$2$3');
}
