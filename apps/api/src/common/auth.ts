import { createParamDecorator, Inject, Injectable, SetMetadata } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceContext } from '../../../runner/src/core/context';
import type { Principal } from '../../../runner/src/core/tenants';
import { ApiError } from './api-error';
import { CTX } from './tokens';

const PUBLIC = 'lichen:public';
const ADMIN = 'lichen:admin';
const TENANT = 'lichen:tenant';

/** No API key needed (health, metrics, docs). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC, true);
/** Only the admin key. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN, true);
/** Only tenant keys (the admin key has no tenant to run things as). */
export const TenantOnly = (): MethodDecorator & ClassDecorator => SetMetadata(TENANT, true);

export type AuthedRequest = FastifyRequest & { principal?: Principal };

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const p = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
  if (!p) throw new ApiError(401, 'unauthorized', 'missing API key');
  return p;
});

export function apiKeyOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (typeof h === 'string' && /^bearer /i.test(h)) return h.slice(7).trim();
  const x = req.headers['x-api-key'];
  return typeof x === 'string' ? x.trim() : undefined;
}

/** Authenticates every request (Bearer or X-API-Key), counts it against the tenant's rate limit, enforces admin/tenant routes. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(CTX) private readonly ctx: ServiceContext,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const key = apiKeyOf(req);
    if (!key)
      throw new ApiError(
        401,
        'unauthorized',
        'missing API key: send "Authorization: Bearer <key>" or "X-API-Key: <key>"',
      );
    const admitted = await this.ctx.tenants.admit(key);
    if (!admitted) throw new ApiError(401, 'unauthorized', 'invalid API key');
    const { principal, retryAfterSeconds: wait } = admitted;
    if (this.reflector.getAllAndOverride<boolean>(ADMIN, targets) && principal.kind !== 'admin') {
      throw new ApiError(403, 'forbidden', 'this endpoint needs the admin key');
    }
    if (this.reflector.getAllAndOverride<boolean>(TENANT, targets) && principal.kind !== 'tenant') {
      throw new ApiError(403, 'forbidden', 'this endpoint needs a tenant API key');
    }
    if (principal.kind === 'tenant' && wait > 0) {
      void context.switchToHttp().getResponse<FastifyReply>().header('Retry-After', String(wait));
      throw new ApiError(
        429,
        'rate_limited',
        `rate limit of ${principal.policy?.rateLimitPerMinute ?? 0} requests per minute exceeded`,
        { retryAfterSeconds: wait },
      );
    }
    req.principal = principal;
    return true;
  }
}
