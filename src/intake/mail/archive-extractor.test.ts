import { randomBytes } from 'node:crypto';
import { gzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { archiveKind, extractArchive } from './archive-extractor.js';
import { defaultArchiveLimits } from './mail-limits.js';

const csv = new TextEncoder().encode('"ip","port"\n"192.0.2.1","53"\n');
const MiB = 1024 * 1024;

describe('extractArchive', () => {
  it('unpacks zip entries and a gzip member by magic bytes', () => {
    const zip = zipSync({
      '2026-01-14-scan_dns-example-geo.csv': csv,
      'notes/readme.txt': new TextEncoder().encode('x'),
    });
    expect(archiveKind(zip)).toBe('zip');
    const z = extractArchive(zip, { location: '2' });
    expect(z.errors).toEqual([]);
    expect(z.entries.map((e) => e.name)).toEqual(['2026-01-14-scan_dns-example-geo.csv', 'notes/readme.txt']);
    expect(new TextDecoder().decode(z.entries[0]?.bytes)).toBe(new TextDecoder().decode(csv));

    const gz = gzipSync(csv);
    expect(archiveKind(gz)).toBe('gzip');
    const g = extractArchive(gz, { name: 'report.csv.gz', location: '2' });
    expect(g.entries).toEqual([{ name: 'report.csv', bytes: csv }]);
    expect(archiveKind(csv)).toBeUndefined();
  });

  it('refuses a zip bomb by its inflated size and ratio, with a clear error', () => {
    // 20 MiB of zeros deflate to ~20 KiB (about 1000:1): far past the 200:1 ratio limit.
    const bomb = zipSync({ 'bomb.csv': new Uint8Array(20 * MiB) }, { level: 9 });
    const result = extractArchive(bomb, { location: '3' });
    expect(result.entries).toEqual([]);
    expect(result.errors).toEqual([
      {
        message: expect.stringMatching(
          /"bomb\.csv" declares 20971520 bytes from \d+ \(ratio \d+:1, limit 200:1\): zip bomb refused/,
        ),
        location: '3',
      },
    ]);
  });

  it('refuses an entry whose declared size is over the limit before inflating anything', () => {
    const zip = zipSync({ 'big.csv': csv });
    // Patch the local header's uncompressed size (offset 22) to claim 4 GiB - 1.
    new DataView(zip.buffer).setUint32(22, 0xffffffff, true);
    const result = extractArchive(zip, { location: '2' });
    expect(result.entries).toEqual([]);
    expect(result.errors[0]?.message).toMatch(/declares 4294967295 bytes, over the .*-byte limit/);
  });

  it('counts the real inflated bytes when the declared size lies', () => {
    const zip = zipSync({ 'liar.csv': new Uint8Array(20 * MiB) }, { level: 9 });
    new DataView(zip.buffer).setUint32(22, 100, true);
    const limits = { ...defaultArchiveLimits, maxRatio: 100_000, maxEntryBytes: 4 * MiB };
    const result = extractArchive(zip, { location: '2', limits });
    expect(result.entries).toEqual([]);
    expect(result.errors[0]?.message).toMatch(
      /"liar\.csv" inflates to \d+ bytes, over the 4194304-byte limit/,
    );
  });

  it('refuses a gzip bomb by counting what it inflates to', () => {
    const result = extractArchive(gzipSync(new Uint8Array(20 * MiB)), { name: 'x.gz', location: '2' });
    expect(result.entries).toEqual([]);
    expect(result.errors[0]?.message).toMatch(/zip bomb refused/);
  });

  it('stops at the entry-count limit', () => {
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 12; i++) files[`f${i}.csv`] = csv;
    const result = extractArchive(zipSync(files), {
      location: '2',
      limits: { ...defaultArchiveLimits, maxEntries: 10 },
    });
    expect(result.entries).toHaveLength(10);
    expect(result.errors[0]?.message).toMatch(/more than 10 entries/);
  });

  it('says a gzip cut anywhere is truncated, even where the inflater ends cleanly; a whole one of two members is whole', () => {
    // Hex text of a fixed pseudo-random sequence: cut inside its deflate data, fflate's Gunzip now and then
    // reaches a clean end with no error (8 of these 120 cuts did before the trailer was checked).
    let x = 12345;
    const hex = Array.from({ length: 20_000 }, () => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return (x >> 16).toString(16).padStart(2, '0').slice(-2);
    }).join('');
    const data = new TextEncoder().encode(hex);
    const gz = gzipSync(data);
    const clean: number[] = [];
    for (let k = 0; k < 120; k++) {
      const at = 20 + Math.floor(((gz.length - 28) * k) / 120);
      const cut = extractArchive(gz.subarray(0, at), { location: '2' });
      if (!/truncated/.test(cut.errors[0]?.message ?? '')) clean.push(at);
    }
    expect(clean).toEqual([]);
    // Two members one after the other (what `cat a.gz b.gz` makes): whole, and read to the end.
    const second = gzipSync(csv);
    const both = new Uint8Array(gz.length + second.length);
    both.set(gz);
    both.set(second, gz.length);
    const whole = extractArchive(both, { location: '2' });
    expect(whole.errors).toEqual([]);
    expect(whole.entries[0]?.bytes.length).toBe(data.length + csv.length);
  });

  it('keeps what a truncated gzip inflated and says it is truncated; a truncated zip is an error', () => {
    const data = new TextEncoder().encode(randomBytes(20000).toString('hex'));
    const gz = gzipSync(data);
    const cut = extractArchive(gz.subarray(0, gz.length >> 1), { location: '2' });
    // Either words, by where the cut falls: inflating fails ("corrupt or truncated"), or it ends clean short
    // of the trailer ("truncated: the stream ends before its trailer", about one cut in fifteen).
    expect(cut.errors[0]?.message).toMatch(
      /^gzip data is (corrupt or truncated|truncated: the stream ends before its trailer)/,
    );
    expect(cut.entries[0]?.bytes.length).toBeGreaterThan(0);
    const zip = zipSync({ 'a.csv': data });
    const zcut = extractArchive(zip.subarray(0, zip.length >> 1), { location: '2' });
    expect(zcut.entries).toEqual([]);
    expect(zcut.errors.length).toBeGreaterThan(0);
    expect(
      extractArchive(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2]), { location: '2' }).errors[0]?.message,
    ).toMatch(/empty, corrupt or truncated/);
  });
});
