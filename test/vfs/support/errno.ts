/** The errno a VFS call failed with, or 'ok' when it succeeded (for expect(...).toBe(Errno.X)). */
export async function errno(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as { errno: number }).errno;
  }
}
