/**
 * What the kernel supplies to procfs. procfs (the filesystem: directories, links, open,
 * read, permissions) lives in the VFS; every per-process fact comes from this interface.
 * Contents are produced when a file is opened (a snapshot, like Linux's seq_file), so a
 * provider may be synchronous or async.
 */
import type { ObjectLink } from './errno';
import type { FsContext, PathRef } from './vfs';

export type ProcContent = string | Uint8Array;

export interface ProcProvider {
  /** Thread-group ids of live (and zombie) processes, ascending. */
  pids(): number[];
  /** Thread ids of a process (its /proc/[pid]/task entries). */
  tids(pid: number): number[];
  /** Owner of /proc/[pid] (effective uid/gid of the process); null if the pid is gone. */
  owner(pid: number): { uid: number; gid: number } | null;
  /**
   * Per-process file contents: name is one of stat, status, statm, cmdline, environ, maps,
   * limits, comm, mounts, mountinfo, io, oom_score_adj, auxv, wchan, ... (whatever the
   * provider knows; unknown names return null and the file does not exist). `tid` is set
   * for /proc/[pid]/task/[tid]/... files.
   */
  pidFile(pid: number, name: string, tid?: number): ProcContent | null | Promise<ProcContent | null>;
  /** Names of the per-process files the provider offers (for readdir). */
  pidFileNames(): string[];
  /** Magic links of a process: exe, cwd, root. null if absent (kernel thread, exited). */
  pidLink(pid: number, name: 'exe' | 'cwd' | 'root'): PathRef | string | null;
  /** Open fds of a process, ascending. */
  fds(pid: number): number[];
  /**
   * Target of /proc/[pid]/fd/N: a PathRef for files with a path, a path string for those the
   * kernel knows only by name (a named pipe's end), or an ObjectLink (named like 'pipe:[1234]',
   * 'socket:[5]', 'anon_inode:[eventfd]') for the others. null if the fd is not open.
   */
  fdLink(pid: number, fd: number): PathRef | string | ObjectLink | null;
  /** /proc/[pid]/fdinfo/N contents. */
  fdInfo?(pid: number, fd: number): ProcContent | null;
  /**
   * Global files: cpuinfo, meminfo, uptime, loadavg, stat, version, filesystems, swaps, ...
   * (mounts and self are handled by procfs itself). Unknown → null.
   */
  globalFile(name: string): ProcContent | null | Promise<ProcContent | null>;
  /** Names of the global files (for readdir). */
  globalFileNames(): string[];
  /** Writes to /proc files (e.g. /proc/self/oom_score_adj); default EACCES. */
  write?(pid: number | null, name: string, data: Uint8Array, ctx: FsContext): number;
}
