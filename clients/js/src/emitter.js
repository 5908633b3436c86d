/**
 * A minimal event emitter that works the same in browsers and Node.
 * `on` returns the function that removes the listener again.
 */

export class Emitter {
  #listeners = new Map();

  on(name, listener) {
    if (!this.#listeners.has(name)) this.#listeners.set(name, new Set());
    this.#listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    this.#listeners.get(name)?.delete(listener);
  }

  emit(name, value) {
    for (const listener of [...(this.#listeners.get(name) ?? [])]) {
      try {
        listener(value);
      } catch (error) {
        // One app callback that throws must not stop the others, nor the
        // client's own frame handling; report it where a developer looks.
        console.error(`homi client: a '${name}' listener failed`, error);
      }
    }
  }
}
