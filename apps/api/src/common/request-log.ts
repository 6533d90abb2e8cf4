import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../../../runner/src/core/metrics';

/** Probes and scrapes: counted, but not logged (they would drown the log). */
const QUIET = new Set(['/metrics', '/healthz', '/readyz']);

/** The fields of one request's log line. */
export interface RequestLine {
  reqId: number;
  method: string;
  url: string;
  statusCode: number;
  /** Milliseconds from the request's arrival to the end of its response. */
  responseTime: number;
  remoteAddress: string | undefined;
}

/**
 * One hook per request for what happens when its response is sent: the
 * `lichen_http_requests_total` counter, and one log line (info; error for 5xx) when that level
 * is enabled. It replaces pino-http's middleware, which built a child logger with the
 * serialized, redacted request and an AsyncLocalStorage context for every request whether or
 * not anything was logged: about 0.2 ms of CPU per request (docs/decisions.md). Nothing here
 * logs headers, so there is nothing to redact. The fields are flat (not `req`/`res`), so the
 * logger's request serializers, which expect live request objects, do not apply.
 */
export function observeRequests(app: FastifyInstance, metrics: ServiceMetrics, logger: () => Logger | undefined): void {
  let seq = 0;
  app.addHook('onResponse', (req, reply, done) => {
    const reqId = ++seq;
    const code = reply.statusCode;
    // The route's pattern (`/v1/runs/:id`), so the counter's labels stay bounded.
    const route = req.is404 ? 'unmatched' : (req.routeOptions.url ?? 'unmatched');
    metrics.httpRequests.inc({ method: req.method, route, code: String(code) });
    const log = logger();
    const level = code >= 500 ? 'error' : 'info';
    if (log && log.isLevelEnabled(level)) {
      const url = req.url;
      const q = url.indexOf('?');
      if (!QUIET.has(q < 0 ? url : url.slice(0, q))) {
        const line: RequestLine = {
          reqId,
          method: req.method,
          url,
          statusCode: code,
          responseTime: Math.round(reply.elapsedTime),
          remoteAddress: req.socket.remoteAddress,
        };
        log[level](line, code >= 500 ? 'request failed' : 'request completed');
      }
    }
    done();
  });
}
