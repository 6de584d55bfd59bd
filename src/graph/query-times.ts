// Time spent in each named query since start, kept by Graph and Database for /metrics and the benchmarks
// (docs/adr/0016-metrics.md). Keys are query file names, a closed set, so the series cannot grow with input.

/** Statements run and milliseconds spent, for one named query. */
export interface QueryTime {
  count: number;
  /** Wall time from sending the statement to its last row (ms). */
  ms: number;
}

export class QueryTimes {
  private readonly times = new Map<string, QueryTime>();

  record(name: string, ms: number): void {
    const entry = this.times.get(name);
    if (entry === undefined) this.times.set(name, { count: 1, ms });
    else {
      entry.count += 1;
      entry.ms += ms;
    }
  }

  /** A copy: query name → statements and milliseconds since start. */
  snapshot(): Record<string, QueryTime> {
    const out: Record<string, QueryTime> = {};
    for (const [name, t] of this.times) out[name] = { ...t };
    return out;
  }
}
