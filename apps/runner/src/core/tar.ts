/** Minimal ustar reader/writer: enough for build outputs (regular files, directories). */

export interface TarEntry {
  path: string;
  mode: number;
  type: 'file' | 'dir' | 'symlink' | 'other';
  content: Uint8Array;
  linkName: string;
}

const dec = new TextDecoder();

function field(b: Uint8Array, off: number, len: number): string {
  let end = off;
  while (end < off + len && b[end] !== 0) end++;
  return dec.decode(b.subarray(off, end));
}

function octal(b: Uint8Array, off: number, len: number): number {
  const s = field(b, off, len).trim();
  if (s === '') return 0;
  const n = parseInt(s, 8);
  if (!Number.isFinite(n)) throw new Error(`bad tar number ${JSON.stringify(s)}`);
  return n;
}

/** Parses a tar archive; throws on a truncated or malformed archive. */
export function parseTar(data: Uint8Array): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let longName: string | null = null;
  while (off + 512 <= data.length) {
    const h = data.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = octal(h, 124, 12);
    const typeflag = String.fromCharCode(h[156] ?? 48);
    const prefix = field(h, 345, 155);
    let name = field(h, 0, 100);
    if (prefix) name = `${prefix}/${name}`;
    const start = off + 512;
    if (start + size > data.length) throw new Error('truncated tar archive');
    const content = data.subarray(start, start + size);
    off = start + Math.ceil(size / 512) * 512;
    if (typeflag === 'L') {
      longName = dec.decode(content).replace(/\0+$/, '');
      continue;
    }
    if (typeflag === 'x' || typeflag === 'g') continue;
    if (longName !== null) {
      name = longName;
      longName = null;
    }
    const type =
      typeflag === '0' || typeflag === '\0'
        ? 'file'
        : typeflag === '5'
          ? 'dir'
          : typeflag === '2'
            ? 'symlink'
            : 'other';
    out.push({ path: name, mode: octal(h, 100, 8) & 0o7777, type, content, linkName: field(h, 157, 100) });
  }
  return out;
}

/** Writes regular files into a ustar archive (names up to 255 bytes). */
export function writeTar(files: { path: string; mode: number; content: Uint8Array }[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const h = new Uint8Array(512);
    let name = f.path.replace(/^\/+/, '');
    let prefix = '';
    if (enc.encode(name).length > 100) {
      const cut = name.lastIndexOf('/', 155);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    const put = (s: string, o: number, l: number): void => h.set(enc.encode(s).subarray(0, l), o);
    const num = (n: number, o: number, l: number): void => put(n.toString(8).padStart(l - 1, '0'), o, l - 1);
    put(name, 0, 100);
    num(f.mode & 0o7777, 100, 8);
    num(0, 108, 8);
    num(0, 116, 8);
    num(f.content.length, 124, 12);
    num(0, 136, 12);
    put('        ', 148, 8);
    h[156] = 48;
    put('ustar\u000000', 257, 8);
    put(prefix, 345, 155);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 8);
    parts.push(h, f.content, new Uint8Array((512 - (f.content.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
