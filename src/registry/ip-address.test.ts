import { describe, expect, it } from 'vitest';
import { normalizeDomain } from './domain-name.js';
import { formatIPv6, formatPrefix, parseIpAddress, parsePrefix } from './ip-address.js';
import { parseResource } from './registry-resource.js';

describe('IP addresses and prefixes', () => {
  it('normalises IPv6 text forms to one canonical form', () => {
    const forms = [
      '2001:db8::1',
      '2001:DB8:0:0:0:0:0:1',
      '2001:0db8:0000::0001',
      '[2001:db8::1]',
      '2001:db8:0::0:1',
    ];
    for (const form of forms) {
      const a = parseIpAddress(form);
      expect(a?.family, form).toBe(6);
      expect(a?.family === 6 && formatIPv6(a.v6), form).toBe('2001:db8::1');
    }
    expect(parseIpAddress('::')).toEqual({ family: 6, v6: [0, 0, 0, 0] });
    expect(formatPrefix(parsePrefix('2001:db8:0:0:1:0:0:0/80'))).toBe('2001:db8:0:0:1::/80');
    expect(formatPrefix(parsePrefix('::1'))).toBe('::1/128');
    expect(formatPrefix(parsePrefix('1:2:3:4:5:6:7:8/128'))).toBe('1:2:3:4:5:6:7:8/128');
  });

  it('folds IPv4-mapped IPv6 into IPv4, addresses and prefixes', () => {
    expect(parseIpAddress('::ffff:192.0.2.1')).toEqual({ family: 4, v4: 0xc0000201 });
    expect(parseIpAddress('::FFFF:c000:0201')).toEqual({ family: 4, v4: 0xc0000201 });
    expect(formatPrefix(parsePrefix('::ffff:192.0.2.0/120'))).toBe('192.0.2.0/24');
    expect(() => parsePrefix('::ffff:0.0.0.0/95')).toThrow(/\/96 or longer/);
    // An embedded IPv4 that is not the mapped form stays IPv6.
    expect(parseIpAddress('64:ff9b::192.0.2.1')?.family).toBe(6);
  });

  it('rejects malformed addresses and prefixes with the reason', () => {
    for (const bad of [
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '256.1.1.1',
      '1..2.3',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      ':1::',
      '1:',
      'fe80::1%eth0',
      '12345::',
      '',
    ]) {
      expect(parseIpAddress(bad), bad).toBeNull();
    }
    expect(() => parsePrefix('192.0.2.1/24')).toThrow(/host bits set: did you mean 192\.0\.2\.0\/24\?/);
    expect(() => parsePrefix('2001:db8::1/64')).toThrow(/host bits set: did you mean 2001:db8::\/64\?/);
    expect(() => parsePrefix('192.0.2.0/33')).toThrow(/from 0 to 32/);
    expect(() => parsePrefix('192.0.2.0/024')).toThrow(/prefix length/);
    expect(() => parsePrefix('192.0.2.0/')).toThrow(/prefix length/);
    expect(() => parsePrefix('bogus/8')).toThrow(/not an IPv4 or IPv6 address/);
    expect(formatPrefix(parsePrefix('0.0.0.0/0'))).toBe('0.0.0.0/0');
  });

  it('normalises domains: case, trailing dot, IDN to punycode; rejects the invalid', () => {
    expect(normalizeDomain('WWW.Example.COM.')).toBe('www.example.com');
    expect(normalizeDomain('bücher.example')).toBe('xn--bcher-kva.example');
    expect(normalizeDomain('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
    for (const bad of [
      '-a.example',
      'a-.example',
      'a..example',
      'exa mple.com',
      '1.2.3.4',
      `${'a'.repeat(64)}.com`,
      '.',
    ]) {
      expect(normalizeDomain(bad), bad).toBeNull();
    }
  });

  it('parses registry resources: prefixes, bare addresses, domains', () => {
    expect(parseResource(' 192.0.2.7 ')).toMatchObject({ kind: 'prefix', text: '192.0.2.7/32' });
    expect(parseResource('2001:DB8::/32')).toMatchObject({ kind: 'prefix', text: '2001:db8::/32' });
    expect(parseResource('Shop.Example.')).toEqual({ kind: 'domain', text: 'shop.example' });
    expect(() => parseResource('localhost')).toThrow(/single label/);
    expect(() => parseResource('192.0.2')).toThrow(/dotted-quad/);
  });
});
