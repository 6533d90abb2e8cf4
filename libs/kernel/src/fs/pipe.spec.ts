import { describe, expect, it } from 'vitest';
import { Errno, KernelError } from '../errno';
import { createVm } from '../vm';
import { makePipe, PIPE_CAPACITY } from './pipe';
import { Task } from '../task';
import { O_NONBLOCK, POLLIN, POLLOUT, POLLHUP, POLLERR } from './file';

function setup() {
  const vm = createVm(
    { argv: ['/x'], rootfs: { kind: 'tmpfs' } },
    { stdout: () => undefined, stderr: () => undefined },
  );
  const k = vm.kernel;
  // a task object is only needed as the caller identity (no sleeping in these cases)
  const t = Object.create(Task.prototype) as Task;
  return { k, t };
}
const errnoOf = (fn: () => unknown): number => {
  try {
    fn();
  } catch (e) {
    return (e as KernelError).errno;
  }
  return 0;
};

describe('pipes', () => {
  it('reads what was written, partially, then reports EOF once writers are gone', () => {
    const { k, t } = setup();
    const [r, w] = makePipe(k, O_NONBLOCK);
    expect(w.write(t, new Uint8Array([1, 2, 3]))).toBe(3);
    expect([...(r.read(t, 2) as Uint8Array)]).toEqual([1, 2]);
    expect(r.poll(POLLIN)).toBe(POLLIN);
    expect([...(r.read(t, 10) as Uint8Array)]).toEqual([3]);
    expect(errnoOf(() => r.read(t, 1))).toBe(Errno.EAGAIN);
    w.release();
    expect(r.poll(POLLIN) & POLLHUP).toBe(POLLHUP);
    expect((r.read(t, 1) as Uint8Array).length).toBe(0);
  });
  it('holds 64 KiB, writes of <= PIPE_BUF are atomic, larger nonblocking writes are partial', () => {
    const { k, t } = setup();
    const [r, w] = makePipe(k, O_NONBLOCK);
    expect(w.write(t, new Uint8Array(PIPE_CAPACITY - 100))).toBe(PIPE_CAPACITY - 100);
    expect(errnoOf(() => w.write(t, new Uint8Array(200)))).toBe(Errno.EAGAIN); // atomic: all or nothing
    expect(w.write(t, new Uint8Array(5000))).toBe(100); // not atomic: partial
    expect(w.poll(POLLOUT)).toBe(0);
    r.read(t, 4096);
    expect(w.poll(POLLOUT)).toBe(POLLOUT);
  });
  it('peeks without consuming, discards a prefix across writes, and takes back unshifted bytes first', () => {
    const { k, t } = setup();
    const [r, w] = makePipe(k, O_NONBLOCK);
    w.write(t, new Uint8Array([1, 2]));
    w.write(t, new Uint8Array([3, 4, 5]));
    const p = r.pipe;
    expect([...p.peek(4)]).toEqual([1, 2, 3, 4]);
    expect(p.size).toBe(5);
    p.discard(3);
    expect(p.size).toBe(2);
    expect([...p.peek(10)]).toEqual([4, 5]);
    p.unshift(new Uint8Array([9]));
    expect(r.poll(POLLIN)).toBe(POLLIN);
    expect([...(r.read(t, 10) as Uint8Array)]).toEqual([9, 4, 5]);
    p.discard(1);
    expect(p.size).toBe(0);
  });
  it('gives EPIPE and queues SIGPIPE when no reader is left', () => {
    const { k } = setup();
    const [r, w] = makePipe(k, 0);
    r.release();
    expect(w.poll(POLLOUT) & POLLERR).toBe(POLLERR);
    const pending: number[] = [];
    const t = Object.create(Task.prototype) as Task;
    Object.assign(t, { state: 'runnable', pending: 0n, pendingQueue: [], sigmask: 0n, interrupter: null });
    Object.defineProperty(t, 'process', { value: { creds: { uid: 0 }, threads: new Set([t]), sharedPending: 0n } });
    Object.defineProperty(t, 'sighand', {
      value: { actions: Array.from({ length: 65 }, () => ({ handler: 0, flags: 0, mask: 0n })) },
    });
    expect(errnoOf(() => w.write(t, new Uint8Array(1)))).toBe(Errno.EPIPE);
    if (t.pending & (1n << 12n)) pending.push(13);
    expect(pending).toEqual([13]);
    expect(k).toBeDefined();
  });
});
