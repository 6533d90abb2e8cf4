/**
 * Extended attributes: the Linux limits and name rules (fs/xattr.c), and `XattrMap`, the
 * in-memory store tmpfs (and so the overlay's upper layer and devfs) keeps per inode. The
 * VFS checks names, namespaces and permissions (Vfs.getxattr & co.); a filesystem only
 * stores and returns values (VNode.getxattr/listxattr/setxattr/removexattr).
 */
import { Errno, err } from './errno';

/** setxattr flags. */
export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;
/** Longest name (bytes, incl. the namespace prefix). */
export const XATTR_NAME_MAX = 255;
/** Largest value and largest listxattr result. */
export const XATTR_SIZE_MAX = 65536;
export const XATTR_LIST_MAX = 65536;

export const XATTR_USER_PREFIX = 'user.';
export const XATTR_TRUSTED_PREFIX = 'trusted.';
export const XATTR_SECURITY_PREFIX = 'security.';
export const XATTR_SYSTEM_PREFIX = 'system.';
export const XATTR_POSIX_ACL_ACCESS = 'system.posix_acl_access';
export const XATTR_POSIX_ACL_DEFAULT = 'system.posix_acl_default';

/** The namespaces Lichen's filesystems know (Linux's xattr handlers with a prefix). */
const PREFIXES = [XATTR_USER_PREFIX, XATTR_TRUSTED_PREFIX, XATTR_SECURITY_PREFIX];

/**
 * xattr_resolve_name: EOPNOTSUPP for a name no handler takes (unknown namespace, system.*
 * other than the POSIX ACL names), EINVAL for a bare prefix ("user.").
 */
export function checkXattrName(name: string): void {
  for (const p of PREFIXES) {
    if (name.startsWith(p)) {
      if (name.length === p.length) throw err(Errno.EINVAL);
      return;
    }
  }
  if (name === XATTR_POSIX_ACL_ACCESS || name === XATTR_POSIX_ACL_DEFAULT) return;
  throw err(Errno.EOPNOTSUPP);
}

/** Bytes charged per stored attribute besides its name and value (bookkeeping). */
export const XATTR_ENTRY_COST = 32;

/** Size accounting of an XattrMap (tmpfs passes its memory account). */
export interface XattrAccount {
  charge(bytes: number): void;
  uncharge(bytes: number): void;
}

/**
 * One inode's attributes with Linux's set semantics (XATTR_CREATE / XATTR_REPLACE). Entries
 * set without an account (the overlay's opaque marker) are not charged.
 */
export class XattrMap {
  /** Created by the first `set`: most inodes never have an attribute. */
  private map: Map<string, Uint8Array> | null = null;
  /** Bytes charged to the account for the entries stored through `set`. */
  private charged = 0;

  get size(): number {
    return this.map?.size ?? 0;
  }
  has(name: string): boolean {
    return this.map?.has(name) ?? false;
  }
  /** The value (a copy is not made: callers must not modify it). ENODATA when absent. */
  get(name: string): Uint8Array {
    const v = this.map?.get(name);
    if (v === undefined) throw err(Errno.ENODATA);
    return v;
  }
  names(): string[] {
    return this.map === null ? [] : [...this.map.keys()];
  }

  /** setxattr: EEXIST with XATTR_CREATE on an existing name, ENODATA with XATTR_REPLACE on a missing one. */
  set(name: string, value: Uint8Array, flags = 0, account?: XattrAccount): void {
    const map = (this.map ??= new Map());
    const old = map.get(name);
    if (old !== undefined && flags & XATTR_CREATE) throw err(Errno.EEXIST);
    if (old === undefined && flags & XATTR_REPLACE) throw err(Errno.ENODATA);
    const cost = XATTR_ENTRY_COST + name.length + value.length;
    const oldCost = old === undefined ? 0 : XATTR_ENTRY_COST + name.length + old.length;
    if (account && cost > oldCost) account.charge(cost - oldCost);
    if (account && cost < oldCost) account.uncharge(oldCost - cost);
    if (account) this.charged += cost - oldCost;
    map.set(name, value.slice());
  }

  /** removexattr: ENODATA when absent. */
  remove(name: string, account?: XattrAccount): void {
    const old = this.map?.get(name);
    if (old === undefined) throw err(Errno.ENODATA);
    this.map?.delete(name);
    if (account) {
      const cost = XATTR_ENTRY_COST + name.length + old.length;
      account.uncharge(cost);
      this.charged -= cost;
    }
  }

  /** Drops everything (the inode is freed) and returns the charged bytes to the account. */
  clear(account?: XattrAccount): void {
    this.map = null;
    if (account && this.charged > 0) account.uncharge(this.charged);
    this.charged = 0;
  }
}
