/** Two small async locks: a mutex and a readers–writer lock granted in arrival order. */

export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  /** Runs fn when every earlier caller's fn has settled. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const out = this.tail.then(fn);
    this.tail = out.then(
      () => undefined,
      () => undefined,
    );
    return out;
  }
}

export class RWLock {
  private readers = 0;
  private writer = false;
  private readonly queue: Array<{ write: boolean; grant: () => void }> = [];

  async read<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(false);
    try {
      return await fn();
    } finally {
      this.readers--;
      this.pump();
    }
  }

  async write<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(true);
    try {
      return await fn();
    } finally {
      this.writer = false;
      this.pump();
    }
  }

  private acquire(write: boolean): Promise<void> {
    return new Promise((grant) => {
      this.queue.push({ write, grant });
      this.pump();
    });
  }

  /** Grants waiters in order: a writer once no one holds the lock, readers while no writer does. */
  private pump(): void {
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (next.write) {
        if (this.readers > 0 || this.writer) return;
        this.queue.shift();
        this.writer = true;
        next.grant();
        return;
      }
      if (this.writer) return;
      this.queue.shift();
      this.readers++;
      next.grant();
    }
  }
}
