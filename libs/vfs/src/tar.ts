/** A small ustar writer with PAX extended headers for long names, big sizes and large ids. */

export interface TarEntry {
  /** Path inside the archive (byte string, no leading '/'). */
  path: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo. */
  type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

const BLOCK = 512;

function octal(buf: Uint8Array, off: number, len: number, value: number): void {
  const s = Math.max(0, Math.floor(value))
    .toString(8)
    .padStart(len - 1, '0');
  for (let i = 0; i < len - 1; i++) buf[off + i] = s.charCodeAt(i);
  buf[off + len - 1] = 0;
}
function str(buf: Uint8Array, off: number, len: number, s: string): void {
  for (let i = 0; i < len && i < s.length; i++) buf[off + i] = s.charCodeAt(i) & 0xff;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return `${len}${body}`;
}

function rawHeader(e: TarEntry, name: string, linkname: string, size: number, type: string): Uint8Array {
  const h = new Uint8Array(BLOCK);
  str(h, 0, 100, name);
  octal(h, 100, 8, e.mode & 0o7777);
  octal(h, 108, 8, Math.min(e.uid, 0o7777777));
  octal(h, 116, 8, Math.min(e.gid, 0o7777777));
  octal(h, 124, 12, size);
  octal(h, 136, 12, Math.max(0, Math.min(e.mtime, 0o77777777777)));
  h[156] = type.charCodeAt(0);
  str(h, 157, 100, linkname);
  str(h, 257, 6, 'ustar');
  h[262] = 0;
  str(h, 263, 2, '00');
  octal(h, 329, 8, e.devmajor ?? 0);
  octal(h, 337, 8, e.devminor ?? 0);
  for (let i = 148; i < 156; i++) h[i] = 32;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  octal(h, 148, 7, sum);
  h[155] = 32;
  return h;
}

/** Header block(s) for an entry (PAX 'x' header first when needed). */
export function tarHeader(e: TarEntry): Uint8Array {
  const pax: string[] = [];
  if (e.path.length > 100) pax.push(paxRecord('path', e.path));
  if (e.linkname && e.linkname.length > 100) pax.push(paxRecord('linkpath', e.linkname));
  if (e.size > 0o77777777777) pax.push(paxRecord('size', String(e.size)));
  if (e.uid > 0o7777777) pax.push(paxRecord('uid', String(e.uid)));
  if (e.gid > 0o7777777) pax.push(paxRecord('gid', String(e.gid)));
  const main = rawHeader(
    e,
    e.path.slice(0, 100),
    (e.linkname ?? '').slice(0, 100),
    e.type === '0' ? e.size : 0,
    e.type,
  );
  if (pax.length === 0) return main;
  const body = Buffer.from(pax.join(''), 'latin1');
  const ph = rawHeader({ ...e, mode: 0o644 }, 'PaxHeader', '', body.length, 'x');
  const padded = new Uint8Array(Math.ceil(body.length / BLOCK) * BLOCK);
  padded.set(body);
  const out = new Uint8Array(BLOCK + padded.length + BLOCK);
  out.set(ph, 0);
  out.set(padded, BLOCK);
  out.set(main, BLOCK + padded.length);
  return out;
}

/** Zero padding after `size` bytes of file data. */
export function tarPadding(size: number): Uint8Array {
  const r = size % BLOCK;
  return new Uint8Array(r === 0 ? 0 : BLOCK - r);
}

/** The end-of-archive marker. */
export function tarEnd(): Uint8Array {
  return new Uint8Array(BLOCK * 2);
}
