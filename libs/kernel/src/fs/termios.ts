/**
 * Terminal state shared by the console and the pseudo-terminals (fs/pty.ts): struct termios
 * with Linux's defaults, the window size and the foreground process group, and the ioctls
 * that only read or set them (tty_ioctl(4)). The line discipline itself lives with each device.
 */
import { Errno, KernelError } from '../errno';
import type { Task } from '../task';
import { copyIn, copyOut, readI32, userAddr, writeI32 } from '../uaccess';

export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
export const TCSETSW = 0x5403;
export const TCSETSF = 0x5404;
export const TIOCSCTTY = 0x540e;
export const TIOCGPGRP = 0x540f;
export const TIOCSPGRP = 0x5410;
export const TIOCOUTQ = 0x5411;
export const TIOCGWINSZ = 0x5413;
export const TIOCSWINSZ = 0x5414;
export const FIONREAD = 0x541b;
export const FIONBIO = 0x5421;
export const TIOCNOTTY = 0x5422;
export const TIOCGSID = 0x5429;
export const FIOCLEX = 0x5451;
export const FIONCLEX = 0x5450;

/** termios field offsets and flag bits (asm-generic/termbits.h). */
export const C_IFLAG = 0;
export const C_OFLAG = 4;
export const C_LFLAG = 12;
export const C_CC = 17;
export const VINTR = 0;
export const VQUIT = 1;
export const VERASE = 2;
export const VKILL = 3;
export const VEOF = 4;
export const VTIME = 5;
export const VMIN = 6;
export const VSUSP = 10;
export const VEOL = 11;
export const VWERASE = 14;
export const VEOL2 = 16;
export const ISTRIP = 0o40;
export const INLCR = 0o100;
export const IGNCR = 0o200;
export const ICRNL = 0o400;
export const OPOST = 0o1;
export const ONLCR = 0o4;
export const OCRNL = 0o10;
export const ISIG = 0o1;
export const ICANON = 0o2;
export const ECHO = 0o10;
export const ECHOE = 0o20;
export const ECHOK = 0o40;
export const ECHONL = 0o100;
export const NOFLSH = 0o200;
export const ECHOCTL = 0o1000;
export const ECHOKE = 0o4000;
export const IEXTEN = 0o100000;

/** The bytes of struct termios TCGETS/TCSETS move (aarch64: 36; the rest is kept zero). */
export const TERMIOS_SIZE = 36;

/** Linux's default termios (tty_std_termios): ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD, ISIG|ICANON|ECHO… */
export function defaultTermios(): Uint8Array {
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x2d02, true); // c_iflag: ICRNL|IXON|IXANY|IMAXBEL|BRKINT
  v.setUint32(4, 0x5, true); // c_oflag: OPOST|ONLCR
  v.setUint32(8, 0xbf, true); // c_cflag: B38400|CS8|CREAD
  v.setUint32(12, 0x8a3b, true); // c_lflag: ISIG|ICANON|ECHO|ECHOE|ECHOK|IEXTEN|ECHOCTL|ECHOKE
  b[16] = 0; // c_line
  const cc = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22];
  cc.forEach((c, i) => (b[C_CC + i] = c));
  return b;
}

export interface Winsize {
  rows: number;
  cols: number;
  xpixel?: number;
  ypixel?: number;
}

/** What the shared ioctls read and set. */
export interface TtyState {
  termios: Uint8Array;
  winsize: Winsize;
  foregroundPgrp: number;
  sessionSid: number;
}

export function termiosFlag(termios: Uint8Array, offset: number): number {
  return new DataView(termios.buffer, termios.byteOffset).getUint32(offset, true);
}

/**
 * The termios/winsize/process-group ioctls on `s`. Returns null for commands it does not
 * handle. `changed` is told what was set (TCSETSF flushes pending input, TIOCSWINSZ with a
 * new size sends SIGWINCH).
 */
export function ttyStateIoctl(
  t: Task,
  s: TtyState,
  cmd: number,
  arg: number,
  changed?: (cmd: number, old: Winsize) => void,
): number | null {
  const as = t.mm.as;
  const p = userAddr(arg);
  switch (cmd) {
    case TCGETS:
      copyOut(as, p, s.termios.subarray(0, TERMIOS_SIZE));
      return 0;
    case TCSETS:
    case TCSETSW:
    case TCSETSF:
      s.termios.set(copyIn(as, p, TERMIOS_SIZE));
      changed?.(cmd, s.winsize);
      return 0;
    case TIOCGWINSZ: {
      const b = new Uint8Array(8);
      const v = new DataView(b.buffer);
      v.setUint16(0, s.winsize.rows, true);
      v.setUint16(2, s.winsize.cols, true);
      v.setUint16(4, s.winsize.xpixel ?? 0, true);
      v.setUint16(6, s.winsize.ypixel ?? 0, true);
      copyOut(as, p, b);
      return 0;
    }
    case TIOCSWINSZ: {
      const v = new DataView(copyIn(as, p, 8).buffer);
      const old = s.winsize;
      s.winsize = {
        rows: v.getUint16(0, true),
        cols: v.getUint16(2, true),
        xpixel: v.getUint16(4, true),
        ypixel: v.getUint16(6, true),
      };
      changed?.(cmd, old);
      return 0;
    }
    case TIOCGPGRP:
      writeI32(as, p, s.foregroundPgrp);
      return 0;
    case TIOCSPGRP: {
      const pg = readI32(as, p);
      if (pg <= 0) throw new KernelError(Errno.EINVAL);
      s.foregroundPgrp = pg;
      return 0;
    }
    case TIOCGSID:
      writeI32(as, p, s.sessionSid);
      return 0;
    default:
      return null;
  }
}
