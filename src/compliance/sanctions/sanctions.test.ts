import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { jaroWinkler, nameScore } from './name-match.js';
import { screenCustomers } from './screen-customers.js';
import { parseSdnFiles } from './sdn-csv.js';

const dir = 'test/fixtures/compliance/sdn';
const files = {
  sdn: readFileSync(`${dir}/sdn.csv`, 'utf8'),
  alt: readFileSync(`${dir}/alt.csv`, 'utf8'),
  add: readFileSync(`${dir}/add.csv`, 'utf8'),
};

describe('the SDN CSV files', () => {
  it('reads the published layout: no header, -0- as null, programs split, aliases and countries joined', () => {
    const entries = parseSdnFiles(files);
    expect(entries.map((e) => e.entNum)).toEqual([36, 10001, 10002, 10003, 10004]);
    const airline = entries[0]!;
    expect(airline).toMatchObject({
      name: 'AEROCARIBBEAN AIRLINES',
      type: null,
      programs: ['CUBA'],
      remarks: null,
    });
    expect(airline.countries).toEqual(['Cuba']);
    const petrov = entries[1]!;
    expect(petrov.type).toBe('individual');
    expect(petrov.programs).toEqual(['UKRAINE-EO13661', 'RUSSIA-EO14024']);
    expect(petrov.aliases).toEqual([{ type: 'aka', name: 'PETROV, Ivan' }]);
    const northstar = entries[2]!;
    expect(northstar.aliases.map((a) => a.name)).toEqual(['NORTH STAR MARINE', 'NORTHSTAR TRADING FZE']);
    expect(northstar.countries).toEqual(['Iran', 'United Arab Emirates']);
    // A vessel's quoted tonnage keeps its comma.
    expect(entries[4]!.type).toBeNull();
  });

  it('refuses a header row, a wrong field count, and an alias of an unknown entry, naming file and line', () => {
    expect(() =>
      parseSdnFiles({
        sdn: 'ent_num,SDN_Name,SDN_Type,Program,Title,Call_Sign,Vess_type,Tonnage,GRT,Vess_flag,Vess_owner,Remarks\n',
      }),
    ).toThrow(/sdn.csv line 1: ent_num "ent_num" is not a number \(is this a header row\?\)/);
    expect(() => parseSdnFiles({ sdn: '1,"A",-0-\n' })).toThrow(
      /sdn.csv line 1: 3 fields, the published layout has 12/,
    );
    expect(() => parseSdnFiles({ sdn: files.sdn, alt: '999,1,"aka","X",-0-\n' })).toThrow(
      /alt.csv line 1: ent_num 999 is not in sdn.csv/,
    );
  });
});

describe('name matching', () => {
  it('Jaro-Winkler gives the textbook values', () => {
    expect(jaroWinkler('martha', 'marhta')).toBeCloseTo(0.961, 3);
    expect(jaroWinkler('dwayne', 'duane')).toBeCloseTo(0.84, 2);
    expect(jaroWinkler('abc', 'xyz')).toBe(0);
  });

  it('ignores order, case, punctuation, diacritics and legal forms', () => {
    expect(nameScore('Ivan Petrov', 'PETROV, Ivan')).toBe(1);
    expect(nameScore('Northstar Shipping Trading LLC', 'NORTHSTAR SHIPPING TRADING L.L.C.')).toBe(1);
    expect(nameScore('José Müller GmbH', 'JOSE MULLER')).toBe(1);
    expect(nameScore('Blue Meadow Hosting', 'GLOBAL TECH HOLDINGS LIMITED')).toBeLessThan(0.8);
    // One common word alone does not meet every name containing it.
    expect(nameScore('Global', 'GLOBAL TECH HOLDINGS LIMITED')).toBeLessThan(0.88);
  });
});

describe('screening', () => {
  const entries = parseSdnFiles(files);
  const matches = screenCustomers(
    [
      { ref: 'northstar', name: 'North Star Marine', country: 'IR' },
      { ref: 'globaltek', name: 'Global Tek Holdings Ltd', country: 'GB' },
      { ref: 'meadow', name: 'Blue Meadow Hosting', country: 'NL' },
    ],
    entries,
  );

  it('finds the true match through an alias, with the country, and a near miss for review', () => {
    expect(matches.find((m) => m.customer === 'northstar')).toMatchObject({
      name: 'NORTH STAR MARINE',
      entry: 10002,
      score: 1,
      program: 'IRAN, SDGT',
      via: 'alias',
      countryMatch: true,
    });
    const near = matches.find((m) => m.customer === 'globaltek');
    expect(near).toMatchObject({ entry: 10003, name: 'GLOBAL TECH HOLDINGS LIMITED', countryMatch: false });
    expect(near!.score).toBeGreaterThan(0.88);
    expect(near!.score).toBeLessThan(1);
  });

  it('leaves the clean customer alone', () => {
    expect(matches.filter((m) => m.customer === 'meadow')).toEqual([]);
  });
});
