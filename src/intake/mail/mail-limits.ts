/**
 * Limits that keep one hostile or broken mail from taking the process down. Inputs over a limit are refused
 * with a clear error (the evidence is already stored); they never reach an allocation that could OOM.
 */
export interface ArchiveLimits {
  /** Entries per archive. */
  readonly maxEntries: number;
  /** Uncompressed bytes per entry, both as declared in the archive and as actually inflated. */
  readonly maxEntryBytes: number;
  /** Uncompressed bytes across all entries of one archive. */
  readonly maxTotalBytes: number;
  /** Uncompressed/compressed ratio above which an entry is refused as a probable bomb (once past `ratioFloorBytes`). */
  readonly maxRatio: number;
  readonly ratioFloorBytes: number;
}

export interface MailLimits {
  /** Whole message, raw bytes. */
  readonly maxMessageBytes: number;
  /** One part's decoded body. */
  readonly maxPartBytes: number;
  /** MIME parts across the whole message, nested messages included. */
  readonly maxParts: number;
  /** Nesting of multiparts and encapsulated messages. */
  readonly maxDepth: number;
  readonly archive: ArchiveLimits;
}

const MiB = 1024 * 1024;

export const defaultArchiveLimits: ArchiveLimits = {
  maxEntries: 100,
  maxEntryBytes: 256 * MiB,
  maxTotalBytes: 512 * MiB,
  // Shadowserver CSVs compress about 10:1; highly repetitive logs reach 50:1. Deflate tops out near 1032:1.
  maxRatio: 200,
  ratioFloorBytes: 1 * MiB,
};

export const defaultMailLimits: MailLimits = {
  maxMessageBytes: 150 * MiB,
  maxPartBytes: 100 * MiB,
  maxParts: 2000,
  maxDepth: 20,
  archive: defaultArchiveLimits,
};
