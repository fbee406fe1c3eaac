/**
 * A small typed event emitter. A listener that throws never unwinds into the stack (a
 * socket callback or a timer): the error goes to the emitter's error sink instead, so a
 * TU bug cannot kill a transport or leave a transaction half-updated.
 */

export type EventMap = Record<string, unknown[]>;
type Listener<A extends unknown[]> = (...args: A) => void;

export type ListenerErrorSink = (error: unknown, event: string) => void;

/** Default sink: report on stderr (the process keeps running). */
export const logListenerError: ListenerErrorSink = (error, event) => {
  console.error(`SIP stack: a '${event}' listener threw:`, error);
};

export class TypedEmitter<E extends EventMap> {
  private listeners = new Map<keyof E, Array<{ fn: Listener<never[]>; once: boolean }>>();

  constructor(protected readonly onListenerError: ListenerErrorSink = logListenerError) {}

  on<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.add(event, fn, false);
    return this;
  }

  once<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    this.add(event, fn, true);
    return this;
  }

  off<K extends keyof E & string>(event: K, fn: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l.fn === (fn as unknown));
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }

  listenerCount(event: keyof E & string): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /** Calls the listeners in order; returns whether there were any. */
  protected emit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const l of [...list]) {
      if (l.once) this.off(event, l.fn as unknown as Listener<E[K]>);
      try {
        (l.fn as unknown as Listener<E[K]>)(...args);
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
    return true;
  }

  private add(event: keyof E, fn: unknown, once: boolean): void {
    const list = this.listeners.get(event) ?? [];
    list.push({ fn: fn as Listener<never[]>, once });
    this.listeners.set(event, list);
  }
}
