import { ArgumentsHost, Catch, HttpException, HttpStatus } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { ApiError } from './api-error';
import type { ErrorBody } from './api-error';

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
  503: 'unavailable',
};

/** Turns any error into `{ error: { code, message, details } }`; 5xx are logged, never leaked. */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof ApiError) {
    return { status: err.getStatus(), body: err.getResponse() as ErrorBody, headers: err.headers };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const r = err.getResponse();
    const message =
      typeof r === 'string'
        ? r
        : typeof (r as { message?: unknown }).message === 'string'
          ? (r as { message: string }).message
          : err.message;
    return {
      status,
      body: { error: { code: CODES[status] ?? `http_${status}`, message, details: null } },
      headers: {},
    };
  }
  // body-parser errors reach us through the Express error middleware.
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  if (e && e.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: {
        error: { code: 'malformed_json', message: `request body is not valid JSON: ${e.message}`, details: null },
      },
      headers: {},
    };
  }
  if (e && e.type === 'entity.too.large') {
    return {
      status: 413,
      body: {
        error: {
          code: 'payload_too_large',
          message: `request body larger than ${e.limit} bytes`,
          details: { limit: e.limit ?? null },
        },
      },
      headers: {},
    };
  }
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return {
      status: e.status,
      body: {
        error: { code: CODES[e.status] ?? `http_${e.status}`, message: e.message ?? 'bad request', details: null },
      },
      headers: {},
    };
  }
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { error: { code: 'internal_error', message: 'internal server error', details: null } },
    headers: {},
  };
}

@Catch()
export class GlobalErrorFilter implements ExceptionFilter {
  constructor(private readonly log: PinoLogger) {}
  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const req = host.switchToHttp().getRequest<Request>();
    const { status, body, headers } = toErrorBody(exception);
    if (status >= 500) this.log.error({ err: exception, path: req.url }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    res.status(status).json(body);
  }
}
