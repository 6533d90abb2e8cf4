/**
 * Filesystem change notification (Linux's fsnotify, as inotify sees it). The VFS reports
 * every event of every process in one place to one listener (the kernel's inotify), and only
 * while `Vfs.watches > 0`: with nobody watching, an event site costs one comparison.
 */
import type { VNode } from './fs';

/** inotify event bits (include/uapi/linux/inotify.h). */
export const IN_ACCESS = 0x1;
export const IN_MODIFY = 0x2;
export const IN_ATTRIB = 0x4;
export const IN_CLOSE_WRITE = 0x8;
export const IN_CLOSE_NOWRITE = 0x10;
export const IN_OPEN = 0x20;
export const IN_MOVED_FROM = 0x40;
export const IN_MOVED_TO = 0x80;
export const IN_CREATE = 0x100;
export const IN_DELETE = 0x200;
export const IN_DELETE_SELF = 0x400;
export const IN_MOVE_SELF = 0x800;
export const IN_UNMOUNT = 0x2000;
export const IN_Q_OVERFLOW = 0x4000;
export const IN_IGNORED = 0x8000;
export const IN_ISDIR = 0x40000000;
export const IN_ALL_EVENTS = 0xfff;
/** Events a watched directory also receives for its children (with the child's name). */
export const IN_CHILD_EVENTS = IN_ACCESS | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_OPEN;

export interface FsNotifyListener {
  /**
   * `mask` (with IN_ISDIR for directories) happened to `node`. When `parent` is given the
   * event is also one for the parent's watchers, named `name` (child events: open, access,
   * modify, attrib, close). `unlinked`: a file event (open/read/write/close) on a name that
   * was removed meanwhile (IN_EXCL_UNLINK watches skip it).
   */
  nodeEvent(node: VNode, mask: number, parent: VNode | null, name: string, unlinked: boolean): void;
  /** Directory-entry events on `dir`: IN_CREATE, IN_DELETE, IN_MOVED_FROM/TO (paired by `cookie`). */
  dirEvent(dir: VNode, mask: number, name: string, cookie: number): void;
}
