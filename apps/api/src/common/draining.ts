/**
 * The API's notice to its long-lived requests that it is stopping. It is given before the HTTP
 * server closes, which waits for every open request: event streams then end (their clients
 * reconnect, to another instance, with Last-Event-ID and lose nothing) instead of holding the
 * shutdown until their runs finish.
 */
export class Draining {
  private readonly ac = new AbortController();
  readonly signal: AbortSignal = this.ac.signal;

  begin(): void {
    this.ac.abort();
  }
}
