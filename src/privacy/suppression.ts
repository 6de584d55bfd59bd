// Suppressed identifier keys, per space, in memory (docs/adr/0027-deletion-and-suppression.md): ingestion
// asks on every request, so the answer must be cheap. A space's set is read whole from PostgreSQL on first
// use and read again once it is older than `refreshMs`, so a request made through another process takes
// effect here within that bound; this process's own requests update it at once. Concurrent askers share
// one read.

/** How long a space's set is used before it is read again (ms): the bound for other processes' requests. */
export const SUPPRESSION_REFRESH_MS = 1_000;

interface Entry {
  keys: Set<string>;
  loadedAt: number;
  loading: Promise<Set<string>> | null;
  /** Keys added while a read ran: the read may predate their commit. */
  addedDuringLoad: Set<string>;
}

export class SuppressionList {
  private readonly spaces = new Map<string, Entry>();

  constructor(
    private readonly load: (space: string) => Promise<string[]>,
    private readonly refreshMs: number = SUPPRESSION_REFRESH_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The space's suppressed keys, at most `refreshMs` old. */
  async keys(space: string): Promise<ReadonlySet<string>> {
    const entry = this.spaces.get(space);
    if (entry !== undefined && this.now() - entry.loadedAt < this.refreshMs) return entry.keys;
    return this.refresh(space);
  }

  /** Keys this process just suppressed: in effect here before the request is answered. */
  add(space: string, keys: readonly string[]): void {
    const entry = this.spaces.get(space);
    if (entry === undefined) return;
    for (const key of keys) {
      entry.keys.add(key);
      if (entry.loading !== null) entry.addedDuringLoad.add(key);
    }
  }

  /** Forgets a space's set (after an unsuppress): the next ask reads it again. */
  invalidate(space: string): void {
    this.spaces.delete(space);
  }

  private refresh(space: string): Promise<Set<string>> {
    let entry = this.spaces.get(space);
    if (entry?.loading) return entry.loading;
    if (entry === undefined) {
      entry = {
        keys: new Set(),
        loadedAt: Number.NEGATIVE_INFINITY,
        loading: null,
        addedDuringLoad: new Set(),
      };
      this.spaces.set(space, entry);
    }
    const current = entry;
    const started = this.now();
    current.loading = this.load(space)
      .then((keys) => {
        const fresh = new Set([...keys, ...current.addedDuringLoad]);
        if (this.spaces.get(space) === current) {
          current.keys = fresh;
          current.loadedAt = started;
        }
        return fresh;
      })
      .finally(() => {
        current.loading = null;
        current.addedDuringLoad.clear();
      });
    return current.loading;
  }
}
