// The readiness probe's one round trip (/readyz, ADR 0017), shared by Neo4j and PostgreSQL: callers that
// ask while a ping runs share it, and each gets an answer within its own bound.
export class SharedProbe {
  private running: Promise<boolean> | undefined;

  constructor(private readonly ping: () => Promise<boolean>) {}

  /** Whether the ping succeeds, or false once `timeoutMs` has passed (the ping goes on for the others). */
  within(timeoutMs: number): Promise<boolean> {
    this.running ??= this.ping();
    const probe = this.running;
    void probe.finally(() => {
      if (this.running === probe) this.running = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return Promise.race([probe, timeout]).finally(() => clearTimeout(timer));
  }
}
