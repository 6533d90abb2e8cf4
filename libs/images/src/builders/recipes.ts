/**
 * The built-in image recipes: `busybox` and `debian` (bookworm, arm64).
 * A recipe names its Debian packages and configures the unpacked tree the way the packages'
 * maintainer scripts would have where it matters (no maintainer script runs).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { guestDir, guestSymlink, inRoot, lexists, mergeUsr, writeGuestFile, writeGuestFileIfMissing } from './stage';

const execFileAsync = promisify(execFile);

export interface Recipe {
  name: 'busybox' | 'debian';
  /** Bump when the recipe's output changes (part of the image's identity). */
  version: number;
  description: string;
  packages: readonly string[];
  configure(root: string): Promise<void>;
}

const HOSTS = '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function baseDirs(root: string): void {
  for (const d of ['dev', 'proc', 'sys', 'run', 'mnt', 'home', 'usr/local/bin', 'var/log']) guestDir(root, d);
  guestDir(root, 'root', 0o700);
  guestDir(root, 'tmp', 0o1777);
  guestDir(root, 'var/tmp', 0o1777);
  writeGuestFile(root, 'etc/hostname', 'lichen\n');
  writeGuestFile(root, 'etc/hosts', HOSTS);
}

/** Applet paths (`bin/ls`, `usr/bin/awk`, ...) from the arm64 busybox: under qemu, else the host's busybox. */
async function busyboxApplets(root: string): Promise<string[]> {
  const binary = inRoot(root, 'bin/busybox');
  const attempts: [string, string[]][] = [
    ['qemu-aarch64-static', [binary, '--list-full']],
    ['busybox', ['--list-full']],
  ];
  const errors: string[] = [];
  for (const [cmd, args] of attempts) {
    try {
      const { stdout } = await execFileAsync(cmd, args, { env: {} });
      const list = stdout.split('\n').filter((l) => /^[a-z/]+\/[^/\s]+$/.test(l));
      if (list.length > 50) return list;
      errors.push(`${cmd}: only ${list.length} applets listed`);
    } catch (err) {
      errors.push(`${cmd}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(`cannot list busybox applets (${errors.join('; ')}); install qemu-user-static`);
}

/**
 * Byte-compiles the image's Python standard library, as Debian's py3compile would (a postinst
 * step, and unpacking runs none): without it every run compiles each module it imports from
 * source (`python3 -c pass` 44 M → 26 M guest instructions, importing asyncio 1.2 G → 0.19 G).
 * The pycs are hash-checked, not timestamped: the build sets every file's times afterwards.
 * The image's own interpreter runs under qemu-aarch64-static with a fixed hash seed, so the
 * bytes are the same on any host and the image stays reproducible.
 */
async function compilePythonStdlib(root: string): Promise<void> {
  const dirs = readdirSync(inRoot(root, 'usr/lib')).filter((n) => /^python3\.\d+$/.test(n));
  for (const dir of dirs) {
    const python = inRoot(root, `usr/bin/${dir}`);
    if (!lexists(python)) continue;
    // -f: modules the interpreter imported at start-up may already have (timestamp) pycs, which
    // compileall would keep; PYTHONDONTWRITEBYTECODE keeps the start-up from writing them.
    const args = ['-L', root, python, '-m', 'compileall', '-q', '-f', '-j0', '--invalidation-mode', 'checked-hash'];
    try {
      await execFileAsync('qemu-aarch64-static', [...args, '-s', root, '-p', '/', inRoot(root, `usr/lib/${dir}`)], {
        env: { PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' },
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      const why = (err as Error).message.split('\n').slice(0, 3).join(' ');
      throw new Error(`cannot byte-compile /usr/lib/${dir} (${why}); install qemu-user-static (bash scripts/setup.sh)`);
    }
  }
}

export const busyboxRecipe: Recipe = {
  name: 'busybox',
  version: 1,
  description: "Debian's arm64 busybox-static with applet links and a minimal /etc",
  packages: ['busybox-static'],
  async configure(root) {
    if (!existsSync(inRoot(root, 'bin/busybox'))) throw new Error('busybox-static did not provide /bin/busybox');
    rmSync(inRoot(root, 'usr/share/doc'), { recursive: true, force: true });
    rmSync(inRoot(root, 'usr/share/man'), { recursive: true, force: true });
    baseDirs(root);
    for (const applet of await busyboxApplets(root)) {
      if (applet !== 'bin/busybox') guestSymlink(root, applet, '/bin/busybox');
    }
    writeGuestFile(
      root,
      'etc/passwd',
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
    );
    writeGuestFile(root, 'etc/group', 'root:x:0:\nnogroup:x:65534:\n');
    writeGuestFile(root, 'etc/profile', `export PATH=${PATH}\nexport HOME=\${HOME:-/root}\nPS1='\\u@\\h:\\w\\$ '\n`);
    writeGuestFile(root, 'etc/shells', '/bin/sh\n/bin/ash\n');
  },
};

const DEBIAN_PASSWD = [
  'root:*:0:0:root:/root:/bin/bash',
  'daemon:*:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'bin:*:2:2:bin:/bin:/usr/sbin/nologin',
  'sys:*:3:3:sys:/dev:/usr/sbin/nologin',
  'nobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
];
const DEBIAN_GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'bin:x:2:',
  'sys:x:3:',
  'adm:x:4:',
  'tty:x:5:',
  'disk:x:6:',
  'staff:x:50:',
  'users:x:100:',
  'nogroup:x:65534:',
];

export const debianRecipe: Recipe = {
  name: 'debian',
  version: 6,
  description:
    'Debian bookworm arm64 userland: bash, coreutils, grep, sed, mawk, findutils, python3-minimal with its standard library, ...',
  packages: [
    'base-files',
    'libc6',
    'bash',
    'dash',
    'coreutils',
    'grep',
    'sed',
    'mawk',
    'findutils',
    'diffutils',
    'tar',
    'gzip',
    'xz-utils',
    'bzip2',
    'procps',
    // terminfo for the common terminals: top, clear, tput and less need it (Debian priority required).
    'ncurses-base',
    // Time zones (Debian priority required): TZ=Europe/Paris date, Python's zoneinfo.
    'tzdata',
    // Essential in every Debian system: getconf, locale, iconv, ldd (libc-bin); tput, clear,
    // reset (ncurses-bin).
    'libc-bin',
    'ncurses-bin',
    'python3-minimal',
    // python3-minimal lacks most compiled modules (mmap, _ssl, _sqlite3, ...): they are here.
    'libpython3.11-stdlib',
    // init-system-helpers (via procps) depends on "usrmerge | usr-is-merged"; usrmerge would pull in perl.
    'usr-is-merged',
  ],
  async configure(root) {
    for (const d of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/lintian']) {
      rmSync(inRoot(root, d), { recursive: true, force: true });
    }
    mergeUsr(root);
    baseDirs(root);
    // What base-passwd, netbase and the maintainer scripts would have created (no /etc/shadow).
    writeGuestFile(root, 'etc/passwd', `${DEBIAN_PASSWD.join('\n')}\n`);
    writeGuestFile(root, 'etc/group', `${DEBIAN_GROUP.join('\n')}\n`);
    writeGuestFile(
      root,
      'etc/nsswitch.conf',
      'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n',
    );
    writeGuestFileIfMissing(root, 'etc/profile', `export PATH=${PATH}\n`);
    // What tzdata's postinst would have set up: UTC.
    guestSymlink(root, 'etc/localtime', '/usr/share/zoneinfo/Etc/UTC');
    writeGuestFile(root, 'etc/timezone', 'Etc/UTC\n');
    writeGuestFile(root, 'etc/shells', '/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n/bin/dash\n/usr/bin/dash\n');
    // update-alternatives links the postinst scripts would have made.
    guestSymlink(root, 'usr/bin/awk', 'mawk');
    guestSymlink(root, 'usr/bin/nawk', 'mawk');
    if (lexists(inRoot(root, 'usr/bin/which.debianutils'))) guestSymlink(root, 'usr/bin/which', 'which.debianutils');
    guestSymlink(root, 'usr/bin/sh', 'dash');
    await compilePythonStdlib(root);
    for (const required of ['usr/bin/bash', 'usr/lib/ld-linux-aarch64.so.1', 'usr/bin/python3', 'usr/bin/sh']) {
      if (!lexists(inRoot(root, required))) throw new Error(`debian image is missing /${required} after unpacking`);
    }
  },
};

export const RECIPES = { busybox: busyboxRecipe, debian: debianRecipe } as const;
export type RecipeName = keyof typeof RECIPES;
