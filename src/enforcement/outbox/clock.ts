/**
 * The one source of "now" for enforcement. Everything that decides by time (due steps, leases, retries,
 * audit timestamps) takes a `Clock` so tests move time instead of waiting, and a simulation can replay the
 * past. Only `systemClock` reads the real time.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = {
  now: () => new Date(),
};

/** A clock that stands still until moved: for tests and simulations. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string) {
    this.current = new Date(start).getTime();
    if (Number.isNaN(this.current)) throw new RangeError(`ManualClock: invalid start time ${String(start)}`);
  }

  now(): Date {
    return new Date(this.current);
  }

  /** Move forward by `ms` milliseconds (negative moves back: useful only to test clock skew). */
  advance(ms: number): Date {
    this.current += ms;
    return this.now();
  }

  set(at: Date | string): Date {
    this.current = new Date(at).getTime();
    return this.now();
  }
}

/** The real clock shifted by a fixed offset (a restarted worker in a crash test that must see leases expired). */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  return { now: () => new Date(base.now().getTime() + offsetMs) };
}
