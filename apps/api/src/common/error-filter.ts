import { ArgumentsHost, Catch, HttpException, HttpStatus } from '@nestjs/common';
import type { ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
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
  const e = err as { statusCode?: number; status?: number; message?: string };
  const clientStatus = e ? (e.statusCode ?? e.status) : undefined;
  if (typeof clientStatus === 'number' && clientStatus >= 400 && clientStatus < 500) {
    return {
      status: clientStatus,
      body: {
        error: {
          code: CODES[clientStatus] ?? `http_${clientStatus}`,
          message: e.message ?? 'bad request',
          details: null,
        },
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
    const res = host.switchToHttp().getResponse<FastifyReply>();
    const req = host.switchToHttp().getRequest<FastifyRequest>();
    const { status, body, headers } = toErrorBody(exception);
    if (status >= 500) this.log.error({ err: exception, path: req.url }, 'request failed');
    if (res.sent || res.raw.headersSent) {
      res.raw.end();
      return;
    }
    void res.status(status).headers(headers).send(body);
  }
}
