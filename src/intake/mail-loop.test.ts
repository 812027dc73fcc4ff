import { describe, expect, it } from 'vitest';
import { isAupError } from '../errors.js';
import { carriesLoopToken, DEFAULT_LOOP_TOKEN, loopHeaders, loopToken } from './mail-loop.js';

describe('loopToken', () => {
  it('is the configured token when set', () => {
    expect(loopToken({ AUPDESK_LOOP_TOKEN: '  desk-7f3a  ' })).toBe('desk-7f3a');
  });

  it('is otherwise the address we send from, so two desks tell their mail apart', () => {
    expect(loopToken({ AUPDESK_MAIL_FROM: '"Example abuse desk" <Abuse@Desk.Example>' })).toBe(
      'abuse@desk.example',
    );
    expect(loopToken({ AUPDESK_MAIL_FROM: 'abuse@desk.example' })).toBe('abuse@desk.example');
  });

  it('falls back to the default when neither names one', () => {
    expect(loopToken({})).toBe(DEFAULT_LOOP_TOKEN);
    expect(loopToken({ AUPDESK_MAIL_FROM: 'Abuse desk' })).toBe(DEFAULT_LOOP_TOKEN);
  });

  it('refuses a token a mail library would fold or encode', () => {
    for (const bad of ['two words', 'dësk', 'x'.repeat(201)]) {
      let caught: unknown;
      try {
        loopToken({ AUPDESK_LOOP_TOKEN: bad });
      } catch (error) {
        caught = error;
      }
      expect(isAupError(caught, 'AUP_ERR_CONFIG_INVALID')).toBe(true);
    }
  });
});

describe('carriesLoopToken', () => {
  it('matches our token as the intake reads headers (case and surrounding space ignored), nothing else', () => {
    expect(loopHeaders('abuse@desk.example')).toEqual({ 'X-Loop': 'abuse@desk.example' });
    expect(carriesLoopToken(['other', ' ABUSE@desk.example '], 'abuse@desk.example')).toBe(true);
    expect(carriesLoopToken(['abuse@desk.example.net'], 'abuse@desk.example')).toBe(false);
    expect(carriesLoopToken([], 'aupdesk')).toBe(false);
  });
});
