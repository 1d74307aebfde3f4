// A tiny listener list: EventTarget would work in browsers, but its events
// carry one argument and this keeps the (state, detail) pair typed.

export class Listeners<A extends unknown[]> {
  private readonly list = new Set<(...args: A) => void>();

  add(listener: (...args: A) => void): () => void {
    // Wrap so the same function added twice is called twice and removed once.
    const entry = (...args: A) => listener(...args);
    this.list.add(entry);
    return () => {
      this.list.delete(entry);
    };
  }

  emit(...args: A): void {
    for (const listener of [...this.list]) {
      try {
        listener(...args);
      } catch (error) {
        // A throwing listener must not break the client's own bookkeeping.
        reportLater(error);
      }
    }
  }
}

/** Rethrows outside the current stack so the error is still seen. */
export function reportLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}
