import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFile, loadPolicyTree } from './policy-loader.js';
import { describeDuration, formatDate, renderPolicyHtml, renderPolicyMarkdown } from './policy-render.js';
import type { PolicyDocument } from './policy-schema.js';

let doc: PolicyDocument;
beforeAll(async () => {
  doc = (await loadPolicyFile(path.resolve('test/fixtures/policy/valid/examplehost.yaml'))).document;
});

describe('renderPolicyMarkdown', () => {
  it('has the title, the facts and the headings in order', () => {
    const md = renderPolicyMarkdown(doc);
    const headings = md.split('\n').filter((l) => l.startsWith('#'));
    expect(headings).toEqual([
      '# ExampleHost Acceptable Use Policy',
      '## 1. Use of our services for email',
      '## 2. Network security',
      '## 3. Content',
      '## General provisions',
      '## How we enforce this policy',
      '### Escalation',
      '## How to report abuse',
      '## Copyright infringement notices (DMCA)',
      '## Requests for information',
      '## Your other obligations',
      '## Changes to this policy',
      '## Contact',
    ]);
    expect(md).toContain('- **Version:** 2023-01-01');
    expect(md).toContain('- **Published:** 1 December 2022');
    expect(md).toContain('- **Effective:** 1 January 2023');
  });

  it('numbers clauses within their sections and keeps the provider’s words', () => {
    const md = renderPolicyMarkdown(doc);
    expect(md).toContain(
      '- **1.1 Unsolicited bulk email.** Sending unsolicited commercial email ("spam") to recipients who have not given express permission.',
    );
    expect(md).toContain(
      '- **2.2 Denial of service.** Launching a denial-of-service attack against any network or host.',
    );
    expect(md).toContain('- **3.1 Copyright infringement.**');
    expect(md).toMatch(
      /2\.2 Denial of service.*\n\n\s+\*A violation of this clause endangers our infrastructure/,
    );
    expect(md).toContain('*Applies to virtual private servers and dedicated servers.*');
  });

  it('states the enforcement, complaint, DMCA, information-request and change terms in plain language', () => {
    const md = renderPolicyMarkdown(doc);
    for (const sentence of [
      'If you violate this policy, we will contact you by email.',
      'You will have 5 days to cure the violation.',
      'we may suspend the service immediately.',
      '1. We warn you. If the violation is not cured within 5 days, we take the next step.',
      '3. We terminate the service and your contract (decided by our abuse team).',
      'Interruptions of service caused by a violation of this policy do not earn service-level credits.',
      'We do not act on anonymous complaints',
      'We cannot keep a complaint confidential on request.',
      '- **Designated agent:** Jane Agent',
      '- **Address:** 100 Example Street, Suite 5, Springfield, ST 12345, US',
      'We respond only to requests made as part of a filed and pending legal matter.',
      'We charge USD 275.00 per hour to respond, plus any legal fees we incur; you receive an estimate first and are billed the time actually spent.',
      'Requests are not confidential',
      '*Deadline: within 72 hours of our request. If not met, we may suspend the service.*',
      'We announce material changes by email and on our website.',
      'for up to 90 days after a new version takes effect.',
      'We may waive a change for you',
      'Our services may only be used for purposes generally accepted by the Internet community.',
      '- **Abuse email:** abuse@examplehost.test',
    ]) {
      expect(md).toContain(sentence);
    }
  });

  it('escapes Markdown and HTML in the document’s text', () => {
    const hostile = structuredClone(doc);
    hostile.preamble = '# not a heading\n<script>alert(1)</script> *bold* [link](http://x)';
    const md = renderPolicyMarkdown(hostile);
    expect(md).toContain('\\# not a heading');
    expect(md).toContain('\\<script\\>alert(1)\\</script\\> \\*bold\\* \\[link\\](http://x)');
    expect(md).not.toContain('<script>');
  });

  it('marks fields the provider did not state as our practice', () => {
    const withDefaults = structuredClone(doc);
    withDefaults.terms.enforcement.operator_defaults = ['cure_period'];
    expect(renderPolicyMarkdown(withDefaults)).toContain(
      'You will have 5 days to cure the violation. (Our practice.)',
    );
  });

  it('puts clauses that no section lists under "Other prohibited uses"', () => {
    const orphan = structuredClone(doc);
    orphan.sections = orphan.sections.slice(0, 1);
    const md = renderPolicyMarkdown(orphan);
    expect(md).toContain('## 2. Other prohibited uses');
    expect(md).toContain('- **2.1 Port scanning.**');
  });

  it('is deterministic', () => {
    expect(renderPolicyMarkdown(doc)).toBe(renderPolicyMarkdown(structuredClone(doc)));
  });
});

describe('renderPolicyHtml', () => {
  it('is a complete standalone document with a stylesheet and anchored headings', () => {
    const html = renderPolicyHtml(doc);
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<title>ExampleHost Acceptable Use Policy</title>');
    expect(html).toMatch(/<style>[^<]+<\/style>/);
    expect(html).toContain('<h2 id="section-email">1. Use of our services for email</h2>');
    expect(html).toContain('<h2 id="enforcement">How we enforce this policy</h2>');
    expect(html).toContain('<h2 id="dmca">Copyright infringement notices (DMCA)</h2>');
    expect(html).toContain(
      '<li id="clause-spam"><span class="num">1.1</span> <strong>Unsolicited bulk email.</strong>',
    );
    expect(html).toContain('<dt>Designated agent</dt><dd>Jane Agent</dd>');
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('escapes every string from the document', () => {
    const hostile = structuredClone(doc);
    hostile.provider.name = 'Evil <b>"Host"</b> & Co';
    const first = hostile.clauses[0];
    if (first) first.text = '<img src=x onerror=alert(1)>';
    const html = renderPolicyHtml(hostile);
    expect(html).toContain(
      '<title>Evil &lt;b&gt;&quot;Host&quot;&lt;/b&gt; &amp; Co Acceptable Use Policy</title>',
    );
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<b>');
  });
});

describe('helpers', () => {
  it.each([
    ['P5D', '5 days'],
    ['PT72H', '72 hours'],
    ['P90D', '90 days'],
    ['P1D', '1 day'],
    ['P1Y2M', '1 year and 2 months'],
    ['P1DT12H', '1 day and 12 hours'],
  ])('describeDuration(%s) = %s', (input, expected) => {
    expect(describeDuration(input)).toBe(expected);
  });

  it('formats dates without a locale', () => {
    expect(formatDate('2018-02-24T00:00:00Z')).toBe('24 February 2018');
    expect(formatDate('2018-02-24T09:30:00Z')).toBe('24 February 2018, 09:30 UTC');
  });
});

describe('the seed providers under policies/', () => {
  const root = path.resolve('policies');
  const files = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) =>
      readdirSync(path.join(root, e.name))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join('policies', e.name, f)),
    )
    .sort();

  it('holds the five seed providers, every file loading as one history each', async () => {
    const histories = await loadPolicyTree(root);
    expect(histories.map((h) => h.provider)).toEqual([
      'iitgen',
      'infince',
      'influxis',
      'injazat',
      'securepacket',
    ]);
    expect(
      histories.flatMap((h) => h.versions.map((v) => path.relative(process.cwd(), v.file))).sort(),
    ).toEqual(files);
  });

  it.each(files)('renders %s as a proper AUP page', async (file) => {
    const policy = (await loadPolicyFile(file)).document;
    const md = renderPolicyMarkdown(policy);
    const html = renderPolicyHtml(policy);
    expect(md.startsWith(`# ${policy.provider.name} ${policy.title}\n`)).toBe(true);
    expect(md).toContain(`- **Version:** ${policy.version}`);
    expect(md).toContain('## How we enforce this policy');
    expect(md).toContain('## How to report abuse');
    expect(md).toContain('## Changes to this policy');
    expect(md).toContain('## Contact');
    // Every clause appears once, with its number and its text.
    for (const clause of policy.clauses) {
      expect(html).toContain(`<li id="clause-${clause.id}">`);
      const firstLine = clause.text.split('\n')[0]?.trim() ?? '';
      expect(html).toContain(
        firstLine
          .replace(/&/g, '&amp;')
          .replace(/</g, '&lt;')
          .replace(/>/g, '&gt;')
          .replace(/"/g, '&quot;')
          .replace(/'/g, '&#39;'),
      );
    }
    if (policy.terms.dmca) {
      expect(md).toContain('## Copyright infringement notices (DMCA)');
      expect(html).toContain(
        policy.terms.dmca.designated_agent.postal.lines[0]?.replace(/&/g, '&amp;').replace(/'/g, '&#39;') ??
          '',
      );
    }
    const ids = [...html.matchAll(/ id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
