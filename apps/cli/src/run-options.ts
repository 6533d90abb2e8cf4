/**
 * The validated options of `lichen run`: what the argument parser (program.ts) produces and
 * the VM part (commands/run-vm.ts, the kernel's side) consumes.
 */
import type { BlockDevice } from '@lichen/vfs';
import type { MountSpec, UserSpec } from './parse';

/** The root filesystem image a run boots from, already located (and built or pulled if needed). */
export interface RunImage {
  /** What the user asked for: NAME[:TAG] or a file path. */
  requested: string;
  /** `local` store, a `file` given by path, or pulled from S3 (`cache`, `s3`, `s3-lazy`). */
  origin: 'local' | 'file' | 'cache' | 's3' | 's3-lazy';
  /** The ext4 file on this machine (absent for lazily read S3 images). */
  path?: string;
  /** `sha256:<hex>` when known. */
  digest?: string;
  size: number;
  /** Opens the image read-only; the caller closes it. */
  open(): Promise<BlockDevice>;
  /** Bytes fetched from S3 so far for this image (0 for local images). */
  bytesFetched(): number;
}

export interface RunOptions {
  image: RunImage;
  /** argv[0] is the program: an absolute guest path or a name looked up in the guest's PATH. */
  argv: string[];
  /** `--env`, in order, as NAME=VALUE. The VM adds its defaults (PATH, HOME, TERM) for names not given. */
  env: string[];
  /** `--cpu-steps`: guest instructions across all tasks. */
  cpuSteps?: number;
  /** `--memory` in bytes. */
  memoryBytes?: number;
  /** `--timeout` in milliseconds of wall time. */
  timeoutMs?: number;
  /** `--mount`, in order. */
  mounts: MountSpec[];
  /** `--deterministic [--seed N]` (seed 0 when not given). */
  deterministic?: { seed: number };
  /** `--stats FILE`: absolute path where the run's JSON statistics go. */
  statsFile?: string;
  /** `--user UID[:GID]`; absent means 0:0. */
  user?: UserSpec;
  /** `--trace FILE`: absolute path of the syscall trace, or `-` for stderr. */
  traceFile?: string;
}

/** Everything `lichen run` accepts before the image is located. */
export type RunRequest = Omit<RunOptions, 'image'> & { image: string };

export interface RunFlags {
  image: string;
  env?: string[];
  cpuSteps?: number;
  memory?: number;
  timeout?: number;
  mount?: MountSpec[];
  deterministic?: boolean;
  seed?: number;
  stats?: string;
  user?: UserSpec;
  trace?: string;
}

/** Cross-flag checks; single flags were validated by their parsers. Throws with a message naming the flags. */
export function toRunRequest(program: string, args: string[], flags: RunFlags): RunRequest {
  if (flags.seed !== undefined && !flags.deterministic) {
    throw new Error('option --seed only applies with --deterministic (add --deterministic)');
  }
  const guestPaths = new Set<string>();
  for (const m of flags.mount ?? []) {
    if (guestPaths.has(m.guestPath)) throw new Error(`option --mount: ${m.guestPath} is mounted twice`);
    guestPaths.add(m.guestPath);
  }
  if (!program) throw new Error('missing PROGRAM: usage is lichen run [options] -- PROGRAM [ARGS...]');
  return {
    image: flags.image,
    argv: [program, ...args],
    env: flags.env ?? [],
    cpuSteps: flags.cpuSteps,
    memoryBytes: flags.memory,
    timeoutMs: flags.timeout,
    mounts: flags.mount ?? [],
    deterministic: flags.deterministic ? { seed: flags.seed ?? 0 } : undefined,
    statsFile: flags.stats,
    user: flags.user,
    traceFile: flags.trace,
  };
}
