import { parse as parseCsv } from 'csv-parse/sync';
import { AupError } from '../../errors.js';

/**
 * OFAC's SDN list in its published CSV form (the "legacy flat files"): no header row, fields by position,
 * `-0-` for null, quoted strings; a trailing Ctrl-Z (0x1A) line in some releases.
 *   sdn.csv: ent_num, SDN_Name, SDN_Type, Program, Title, Call_Sign, Vess_type, Tonnage, GRT, Vess_flag,
 *            Vess_owner, Remarks
 *   alt.csv: ent_num, alt_num, alt_type, alt_name, alt_remarks
 *   add.csv: ent_num, add_num, Address, City/State/Province/Postal Code, Country, Add_remarks
 * A row with the wrong field count or a non-numeric ent_num is refused with its file and line; an alias or
 * address of an unknown entry is refused too (the files are from different releases).
 */

export interface SdnEntry {
  readonly entNum: number;
  readonly name: string;
  /** `individual`, `vessel`, `aircraft`; null (`-0-`) for entities. */
  readonly type: string | null;
  /** Programs, split from the published `SDGT] [IRAN` form. */
  readonly programs: readonly string[];
  readonly aliases: ReadonlyArray<{ readonly type: string | null; readonly name: string }>;
  readonly countries: readonly string[];
  readonly remarks: string | null;
}

const NULL = '-0-';
/** The DOS end-of-file character (Ctrl-Z) some releases end with; never part of the data. */
const EOF_MARK = String.fromCharCode(0x1a);

function rows(text: string, file: string, fields: number): Array<{ line: number; record: string[] }> {
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parseCsv(text.replace(/^\uFEFF/, '').replaceAll(EOF_MARK, ''), {
      info: true,
      skip_empty_lines: true,
      relax_column_count: true,
      relax_quotes: true,
      trim: true,
    }) as unknown as Array<{ record: string[]; info: { lines: number } }>;
  } catch (error) {
    throw new AupError('AUP_ERR_INPUT_INVALID', `${file}: CSV syntax: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return records
    .filter(({ record }) => !(record.length === 1 && (record[0] ?? '').trim() === ''))
    .map(({ record, info }) => {
      if (record.length !== fields) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `${file} line ${info.lines}: ${record.length} fields, the published layout has ${fields} (no header row)`,
        );
      }
      if (!/^\d+$/.test(record[0] ?? '')) {
        throw new AupError(
          'AUP_ERR_INPUT_INVALID',
          `${file} line ${info.lines}: ent_num "${record[0]}" is not a number (is this a header row?)`,
        );
      }
      return { line: info.lines, record };
    });
}

const value = (v: string | undefined): string | null =>
  v === undefined || v === NULL || v === '' ? null : v;

export function parseSdnFiles(files: { sdn: string; alt?: string; add?: string }): SdnEntry[] {
  const entries = new Map<
    number,
    {
      entNum: number;
      name: string;
      type: string | null;
      programs: string[];
      aliases: SdnEntry['aliases'][number][];
      countries: string[];
      remarks: string | null;
    }
  >();
  for (const { line, record } of rows(files.sdn, 'sdn.csv', 12)) {
    const name = value(record[1]);
    if (name === null) throw new AupError('AUP_ERR_INPUT_INVALID', `sdn.csv line ${line}: SDN_Name is empty`);
    const program = value(record[3]);
    entries.set(Number(record[0]), {
      entNum: Number(record[0]),
      name,
      type: value(record[2]),
      programs:
        program === null
          ? []
          : program
              .split(/\]\s*\[/)
              .map((p) => p.replace(/[[\]]/g, '').trim())
              .filter(Boolean),
      aliases: [],
      countries: [],
      remarks: value(record[11]),
    });
  }
  const entryOf = (file: string, line: number, ent: string) => {
    const entry = entries.get(Number(ent));
    if (!entry) {
      throw new AupError('AUP_ERR_INPUT_INVALID', `${file} line ${line}: ent_num ${ent} is not in sdn.csv`);
    }
    return entry;
  };
  if (files.alt !== undefined) {
    for (const { line, record } of rows(files.alt, 'alt.csv', 5)) {
      const name = value(record[3]);
      if (name !== null) entryOf('alt.csv', line, record[0]!).aliases.push({ type: value(record[2]), name });
    }
  }
  if (files.add !== undefined) {
    for (const { line, record } of rows(files.add, 'add.csv', 6)) {
      const country = value(record[4]);
      const entry = entryOf('add.csv', line, record[0]!);
      if (country !== null && !entry.countries.includes(country)) entry.countries.push(country);
    }
  }
  return [...entries.values()];
}
