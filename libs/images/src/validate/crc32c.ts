/** CRC-32C (Castagnoli), table-driven; used for ext4 metadata checksums. */
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Raw CRC-32C update without pre/post inversion (the form ext4 stores). */
export function crc32cRaw(crc: number, data: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) c = (TABLE[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c >>> 0;
}

/** CRC-16 (poly 0x8005, reflected), no inversion: the form ext4's gdt_csum uses. */
const TABLE16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16(crc: number, data: Uint8Array): number {
  let c = crc & 0xffff;
  for (let i = 0; i < data.length; i++)
    c = ((TABLE16[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8)) & 0xffff;
  return c;
}
