import { describe, expect, it } from 'vitest';
import {
  addBusinessDays,
  dateInZone,
  federalHolidays,
  isBusinessDay,
  receiptDate,
  restoreWindow,
} from './business-days.js';

const observed = (year: number) => Object.fromEntries(federalHolidays(year).map((h) => [h.name, h.observed]));

describe('US federal holidays, by rule', () => {
  it('computes 2026 (Independence Day on a Saturday is observed Friday 3 July)', () => {
    expect(observed(2026)).toEqual({
      "New Year's Day": '2026-01-01',
      'Birthday of Martin Luther King, Jr.': '2026-01-19',
      "Washington's Birthday": '2026-02-16',
      'Memorial Day': '2026-05-25',
      'Juneteenth National Independence Day': '2026-06-19',
      'Independence Day': '2026-07-03',
      'Labor Day': '2026-09-07',
      'Columbus Day': '2026-10-12',
      'Veterans Day': '2026-11-11',
      'Thanksgiving Day': '2026-11-26',
      'Christmas Day': '2026-12-25',
    });
  });

  it('moves Sunday holidays to Monday and knows Juneteenth only from 2021', () => {
    expect(observed(2022)['Christmas Day']).toBe('2022-12-26');
    expect(observed(2023)["New Year's Day"]).toBe('2023-01-02');
    expect(observed(2020)['Juneteenth National Independence Day']).toBeUndefined();
    expect(observed(2021)['Juneteenth National Independence Day']).toBe('2021-06-18');
  });

  it("observes New Year's Day 2028 (a Saturday) on Friday 31 December 2027", () => {
    expect(observed(2028)["New Year's Day"]).toBe('2027-12-31');
    expect(isBusinessDay('2027-12-31')).toBe(false);
  });

  it('counts business days from the day after receipt, skipping weekends and holidays', () => {
    expect(isBusinessDay('2026-11-26')).toBe(false);
    expect(isBusinessDay('2026-11-27')).toBe(true);
    // Received Friday 20 Nov 2026: Thanksgiving (26 Nov) falls inside the count.
    expect(addBusinessDays('2026-11-20', 1)).toBe('2026-11-23');
    expect(addBusinessDays('2026-11-20', 10)).toBe('2026-12-07');
    expect(addBusinessDays('2026-11-20', 14)).toBe('2026-12-11');
    expect(() => addBusinessDays('2026-11-20', 0)).toThrow(RangeError);
  });

  it('gives the restore window across Christmas and New Year', () => {
    // Received Monday 14 Dec 2026: 25 Dec and 1 Jan are skipped.
    expect(restoreWindow('2026-12-14')).toEqual({ earliest: '2026-12-29', latest: '2027-01-05' });
  });

  it('takes the receipt date as the timestamp writes it, and the agent zone for instants', () => {
    expect(receiptDate('2026-12-24T23:30:00-05:00')).toBe('2026-12-24');
    expect(receiptDate('2026-11-20')).toBe('2026-11-20');
    expect(() => receiptDate('yesterday')).toThrow(/ISO 8601/);
    expect(() => receiptDate('2026-13-45')).toThrow(/ISO 8601/);
    expect(dateInZone(new Date('2026-12-07T03:00:00Z'))).toBe('2026-12-06');
  });
});
