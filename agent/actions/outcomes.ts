/** The last outcome of one action on this agent. */
export interface ActionOutcome {
  ok: boolean;
  at: number;
}

/** Remembers each action's last result and time, for /metrics; bounded by the number of registered actions. */
export class ActionOutcomes {
  private readonly last = new Map<string, ActionOutcome>();

  record(action: string, ok: boolean, at = Date.now()): void {
    this.last.set(action, { ok, at });
  }

  list(): Array<[string, ActionOutcome]> {
    return [...this.last.entries()].sort(([a], [b]) => a.localeCompare(b));
  }
}
