import { HttpException } from '@nestjs/common';

/** The one error shape of the API: `{ error: { code, message, details } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details: unknown };
}

export class ApiError extends HttpException {
  constructor(
    status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly headers: Record<string, string> = {},
  ) {
    super({ error: { code, message, details } } satisfies ErrorBody, status);
  }
}

export const badRequest = (code: string, message: string, details: unknown = null): ApiError =>
  new ApiError(400, code, message, details);
export const notFound = (what: string, id: string): ApiError =>
  new ApiError(404, `${what}_not_found`, `${what} ${id} not found`);
