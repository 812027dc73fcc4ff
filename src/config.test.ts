import { describe, expect, it } from 'vitest';
import { registryRefreshMsFromEnv, triageSettingsFromEnv } from './config.js';

describe('triage settings from the environment', () => {
  it('defaults to confidence 0.6 and ten minutes of tolerance for future-dated events', () => {
    expect(triageSettingsFromEnv({})).toEqual({ confidenceThreshold: 0.6, futureToleranceMs: 600_000 });
  });

  it('takes the operator’s values', () => {
    expect(
      triageSettingsFromEnv({ AUPDESK_TRIAGE_CONFIDENCE: '0.75', AUPDESK_EVENT_FUTURE_TOLERANCE_S: '120' }),
    ).toEqual({ confidenceThreshold: 0.75, futureToleranceMs: 120_000 });
  });

  it('refuses a value out of range, naming the variable', () => {
    expect(() => triageSettingsFromEnv({ AUPDESK_TRIAGE_CONFIDENCE: '1.5' })).toThrow(
      /AUPDESK_TRIAGE_CONFIDENCE/,
    );
    expect(() => triageSettingsFromEnv({ AUPDESK_EVENT_FUTURE_TOLERANCE_S: 'soon' })).toThrow(
      /AUPDESK_EVENT_FUTURE_TOLERANCE_S/,
    );
  });
});

describe('registry refresh period from the environment', () => {
  it('defaults to 5 s, takes the operator’s value, and refuses nonsense naming the variable', () => {
    expect(registryRefreshMsFromEnv({})).toBe(5_000);
    expect(registryRefreshMsFromEnv({ AUPDESK_REGISTRY_REFRESH_MS: '' })).toBe(5_000);
    expect(registryRefreshMsFromEnv({ AUPDESK_REGISTRY_REFRESH_MS: '750' })).toBe(750);
    expect(() => registryRefreshMsFromEnv({ AUPDESK_REGISTRY_REFRESH_MS: '10' })).toThrow(
      /AUPDESK_REGISTRY_REFRESH_MS/,
    );
    expect(() => registryRefreshMsFromEnv({ AUPDESK_REGISTRY_REFRESH_MS: 'often' })).toThrow(
      /AUPDESK_REGISTRY_REFRESH_MS/,
    );
  });
});
