import { describe, expect, it } from 'vitest';
import { refang } from './indicator-extractor.js';
import { proseIndicators } from './prose-indicators.js';

/** Roles the words of a complaint give the addresses it names (English, German, Spanish). */
function roles(text: string, own: string[] = []): Record<string, string> {
  const t = refang(text);
  return Object.fromEntries(
    proseIndicators(t, (h) => own.includes(h)).map((i) => [i.host ?? i.value, i.role]),
  );
}

describe('prose roles', () => {
  it.each([
    ['I received spam from 198.51.100.7', { '198.51.100.7': 'source' }],
    [
      'attacks from 198.51.100.41 against 198.51.100.34',
      { '198.51.100.41': 'source', '198.51.100.34': 'target' },
    ],
    ['our server at 192.0.2.10 is attacked by 203.0.113.5', { '192.0.2.10': 'own', '203.0.113.5': 'source' }],
    ['our servers at 192.0.2.10 and 192.0.2.11 are being hit', { '192.0.2.10': 'own', '192.0.2.11': 'own' }],
    ['203.0.113.5 HAS BEEN SCANNING MY NETWORK', { '203.0.113.5': 'source' }],
    ['192.0.2.80 is being attacked, help', { '192.0.2.80': 'target' }],
    ['the target was 192.0.2.80', { '192.0.2.80': 'target' }],
    [
      'UDP flood from 203.0.113.201 and 203.0.113.202 targeting our web server 192.0.2.80',
      { '203.0.113.201': 'source', '203.0.113.202': 'source', '192.0.2.80': 'own' },
    ],
    [
      'Portscan von 198.51.100.88 auf unseren Server 192.0.2.10',
      { '198.51.100.88': 'source', '192.0.2.10': 'own' },
    ],
    [
      'ataque desde la IP 203.0.113.99 contra nuestro servidor 192.0.2.44',
      { '203.0.113.99': 'source', '192.0.2.44': 'own' },
    ],
    [
      'a phishing page pretending to be examplebank.example, hosted at hxxps://examplebank-login[.]example/',
      { 'examplebank.example': 'impersonated', 'examplebank-login.example': 'source' },
    ],
    ['The real PayPal site is www.paypal.example.', { 'www.paypal.example': 'impersonated' }],
    ['nuestra web oficial es www.examplebank.example', { 'www.examplebank.example': 'impersonated' }],
    ['It resolves to 203.0.113.144, in your network', { '203.0.113.144': 'source' }],
    ["I'm the admin of 192.0.2.77 (our web shop)", { '192.0.2.77': 'own' }],
    ['Our monitoring shows your IP 198.51.100.222 sending SYN packets', { '198.51.100.222': 'source' }],
    ['please check 198.51.100.77', { '198.51.100.77': 'unknown' }],
    [
      'a mail claiming to come from examplebank.example links to hxxp://evil[.]example/x',
      { 'examplebank.example': 'impersonated', 'evil.example': 'source' },
    ],
    ['eine Mail angeblich von sparkasse.example', { 'sparkasse.example': 'impersonated' }],
  ])('%s', (text, expected) => {
    expect(roles(text)).toMatchObject(expected);
  });

  it("gives the reporter's own domain its role whatever the sentence says", () => {
    expect(roles('spam from mx.reporter.example', ['mx.reporter.example'])).toEqual({
      'mx.reporter.example': 'own',
    });
  });

  it('reads defanged indicators as the real host and URL', () => {
    const found = proseIndicators(
      refang(
        'hxxps://evil[.]example[.]net/a, hxxp[:]//bad[dot]example/x, login(.)example and 198.51.100[.]77',
      ),
      () => false,
    ).map((i) => i.value);
    expect(found).toEqual([
      'https://evil.example.net/a',
      'http://bad.example/x',
      'login.example',
      '198.51.100.77',
    ]);
  });
});
