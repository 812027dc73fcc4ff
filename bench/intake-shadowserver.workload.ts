import { parse as csvParse } from 'csv-parse/sync';
import { readCsvRecords } from '../src/intake/parsers/shadowserver/csv-record-reader.js';
import { shadowserverParser } from '../src/intake/parsers/shadowserver/shadowserver-parser.js';

/**
 * Shadowserver CSV intake, one core: parse + normalise N rows of a scan_dns-shaped report into events, against
 * the floor of reading the same bytes and splitting them into lines. Also times the CSV splitting alone with our
 * reader and with csv-parse, which is why the reader is hand-written. Run directly with
 * `npx tsx bench/intake-shadowserver.workload.ts [rows]`; `npm run bench -- intake` combines it with the others.
 */

const HEADER =
  '"timestamp","ip","protocol","port","hostname","tag","dns_version","asn","geo","region","city","min_amplification","p0f_genre","p0f_detail","naics","sic","sector"';

/** A deterministic scan_dns-like file: realistic field mix (quoted strings, empty columns, a quoted comma). */
export function generateScanDnsCsv(rows: number): Uint8Array {
  const parts: string[] = [HEADER];
  for (let i = 0; i < rows; i++) {
    const a = 10 + (i % 200);
    const b = (i >> 8) & 255;
    const c = i & 255;
    const s = (i * 7) % 60;
    const sector =
      i % 5 === 0
        ? '"Communications, Service Provider, and Hosting Service"'
        : i % 5 === 1
          ? '"Education"'
          : '';
    parts.push(
      `"2026-01-15 ${String(i % 24).padStart(2, '0')}:${String((i >> 4) % 60).padStart(2, '0')}:${String(s).padStart(2, '0')}","${a}.${b}.${c}.${((i * 13) % 250) + 1}","udp",53,"host-${a}-${b}-${c}.example.net","openresolver","dnsmasq-2.${i % 90}",${64496 + (i % 16)},"NL","NOORD-HOLLAND","AMSTERDAM","${(i % 97) / 10 + 1}",,,517311,0,${sector}`,
    );
  }
  return new TextEncoder().encode(`${parts.join('\r\n')}\r\n`);
}

function time<T>(fn: () => T): { ms: number; value: T } {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, value };
}

export async function shadowserverWorkload(rows = 1_000_000): Promise<Record<string, number>> {
  const bytes = generateScanDnsCsv(rows);
  const fileName = '2026-01-15-scan_dns-example_org-geo.csv';
  const gc = (globalThis as { gc?: () => void }).gc;

  // Warm-up on a slice so the JIT has seen the hot loops before we time them.
  const warm = generateScanDnsCsv(20_000);
  await shadowserverParser.parse({ bytes: warm, fileName, receivedAt: new Date() });

  gc?.();
  const floor = time(() => {
    const text = new TextDecoder().decode(bytes);
    let lines = 0;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl === -1) break;
      lines++;
      pos = nl + 1;
    }
    return lines;
  });

  gc?.();
  const ours = time(() => {
    const text = new TextDecoder().decode(bytes);
    let records = 0;
    readCsvRecords(text, {
      record: () => {
        records++;
      },
      error: () => {},
    });
    return records;
  });

  // csv-parse on a tenth of the rows (it is the slow one), extrapolated per row.
  const tenth = generateScanDnsCsv(Math.max(1, Math.floor(rows / 10)));
  gc?.();
  const lib = time(
    () => (csvParse(new TextDecoder().decode(tenth), { relax_column_count: true }) as unknown[]).length,
  );

  gc?.();
  const full = time(() => shadowserverParser.parse({ bytes, fileName, receivedAt: new Date() }));
  const output = await full.value;
  if (output.events.length !== rows || output.errors.length !== 0)
    throw new Error(
      `expected ${rows} events and no errors, got ${output.events.length} / ${output.errors.length}`,
    );

  const perSec = (n: number, ms: number) => Math.round((n / ms) * 1000);
  const eventsPerSec = perSec(rows, full.ms);
  const floorLinesPerSec = perSec(floor.value, floor.ms);
  return {
    rows,
    bytes: bytes.length,
    events_per_sec: eventsPerSec,
    parse_ms: Math.round(full.ms),
    floor_lines_per_sec: floorLinesPerSec,
    floor_ms: Math.round(floor.ms),
    ratio_to_floor: Math.round((eventsPerSec / floorLinesPerSec) * 1000) / 1000,
    csv_reader_records_per_sec: perSec(ours.value, ours.ms),
    csv_parse_records_per_sec: perSec(lib.value, lib.ms),
    target_events_per_sec: 300_000,
  };
}

const invokedDirectly =
  process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '');
if (invokedDirectly) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const figures = await shadowserverWorkload(rows);
  process.stdout.write(`${JSON.stringify({ bench: 'intake-shadowserver', ...figures })}\n`);
}
