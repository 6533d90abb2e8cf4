import type { PageQuery } from '../../../runner/src/core/tenant-index';
import { decodeCursor } from '../../../runner/src/core/tenant-index';
import type { Principal } from '../../../runner/src/core/tenants';
import { ApiError, badRequest } from '../common/api-error';
import type { ListQueryDto } from './list.dto';
import { LIST_LIMIT_DEFAULT } from './list.dto';

/**
 * Whose items a listing shows and which page: a tenant key lists its own tenant (`?tenant=`
 * may only name itself), the admin key must name one. The cursor and `since` are checked here.
 */
export function listScope(p: Principal, q: ListQueryDto): { tenant: string; page: PageQuery } {
  let tenant: string;
  if (p.kind === 'admin') {
    if (!q.tenant) throw badRequest('tenant_required', 'the admin key lists one tenant at a time: pass ?tenant=ID');
    tenant = q.tenant;
  } else {
    if (q.tenant !== undefined && q.tenant !== p.tenant)
      throw new ApiError(403, 'forbidden', "only the admin key may list another tenant's items");
    tenant = p.tenant;
  }
  const after = q.cursor === undefined ? null : decodeCursor(q.cursor);
  if (q.cursor !== undefined && !after)
    throw badRequest('invalid_cursor', 'cursor is not a nextCursor returned by this endpoint');
  const since = q.since === undefined ? null : Date.parse(q.since);
  if (since !== null && !Number.isFinite(since)) throw badRequest('invalid_since', 'since is not a valid time');
  return { tenant, page: { limit: q.limit ?? LIST_LIMIT_DEFAULT, after, since } };
}
