/**
 * HyperLogLog (Flajolet et al. 2007) over 32-bit hashes, with the small-range correction (linear
 * counting) — the cardinality sketch the scan detector uses to count distinct destinations and
 * destination ports per source in constant memory: 2^p one-byte registers, standard error 1.04/√(2^p)
 * (p = 8: 256 bytes, ±6.5%; p = 10: 1 KiB, ±3.3%).
 *
 * Windowed: a sketch holds `slots` sub-windows side by side; `add` writes the current slot, `clearSlot`
 * empties the oldest as the window slides, and `estimate` takes the union (register-wise max) of all
 * slots — HyperLogLog cannot subtract, so a sliding window is a ring of sketches. Written here because
 * the hot path must not allocate and must report whether a register changed (only then can the
 * estimate have moved, so the detector re-estimates only then).
 */
export class WindowedHyperLogLog {
  readonly registers: Uint8Array;
  private readonly m: number;
  private readonly shift: number;
  private readonly alphaMM: number;

  constructor(
    readonly precision: number,
    readonly slots: number,
  ) {
    if (precision < 4 || precision > 16) throw new RangeError('precision must be 4..16');
    this.m = 1 << precision;
    this.shift = 32 - precision;
    this.registers = new Uint8Array(this.m * slots);
    const alpha =
      this.m === 16 ? 0.673 : this.m === 32 ? 0.697 : this.m === 64 ? 0.709 : 0.7213 / (1 + 1.079 / this.m);
    this.alphaMM = alpha * this.m * this.m;
  }

  /** Add a 32-bit hash to `slot`; true when a register grew (the estimate may have changed). */
  add(slot: number, hash: number): boolean {
    const h = hash >>> 0;
    const index = h >>> this.shift;
    const rest = (h << this.precision) >>> 0;
    // Rank: position of the first 1 bit in the remaining bits (1-based), capped when they are all zero.
    const rank = rest === 0 ? this.shift + 1 : Math.clz32(rest) + 1;
    const at = slot * this.m + index;
    if (this.registers[at]! >= rank) return false;
    this.registers[at] = rank;
    return true;
  }

  clearSlot(slot: number): void {
    this.registers.fill(0, slot * this.m, (slot + 1) * this.m);
  }

  /** Distinct values added across all slots. */
  estimate(): number {
    const m = this.m;
    const regs = this.registers;
    let sum = 0;
    let zeros = 0;
    for (let j = 0; j < m; j++) {
      let r = regs[j]!;
      for (let s = 1; s < this.slots; s++) {
        const v = regs[s * m + j]!;
        if (v > r) r = v;
      }
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const raw = this.alphaMM / sum;
    if (raw <= 2.5 * m && zeros > 0) return m * Math.log(m / zeros);
    return raw;
  }
}

/** murmur3's 32-bit finaliser: spreads an integer key over all 32 bits (what HyperLogLog needs). */
export function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a pair (destination, port), e.g. for distinct destination:port counts. */
export function mixPair(a: number, b: number): number {
  return mix32(a ^ mix32(b + 0x9e3779b9));
}
