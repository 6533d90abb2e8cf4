// POSIX message queues (test/guest/sys_mqueue.c): mq_open, mq_unlink, mq_timedsend,
// mq_timedreceive, mq_notify and mq_getsetattr under Lichen compared with qemu-aarch64-static
// (which forwards the calls to the host kernel), one section per run so a failure names its
// part. Where qemu-user differs from Linux (it has no mq_notify, maps an access mode of 3 to
// O_RDONLY, answers some mq_getsetattr calls itself and unlinks through the host's glibc) the
// sections are checked against fixed expectations; those were checked against the host's
// Linux 6.18 by the same program built for the host, except the lines a capable root decides
// (the host's root lacks CAP_SYS_RESOURCE), which follow ipc/mqueue.c. The Lichen runs get 30 s
// of wall time: a guest left blocked fails with its output compared.
import { describe, expect, it } from 'vitest';
import { fixture } from '../support';
import { compareWithQemu, runLichen } from './lichen';

const SECTIONS = ['basic', 'errors', 'block', 'poll'];
const limits = { wallMs: 30_000 };

describe('POSIX message queues (sys_mqueue): Lichen vs qemu', () => {
  for (const section of SECTIONS) {
    it(`${section} static (deterministic)`, () => compareWithQemu('sys_mqueue', 'static', [section], limits));
    it(`${section} dynamic`, () => compareWithQemu('sys_mqueue', 'dynamic', [section], limits));
  }
});

const NOTIFY =
  '== notify\n' +
  'register SIGUSR1: 0\n' +
  'status: 60 [QSIZE:0          NOTIFY:0     SIGNO:10    NOTIFY_PID:me]\n' +
  'register again: -1 EBUSY\n' +
  'after the first message: count 1 sig 10 code -3 pid-is-me 1 uid 0 value 42\n' +
  'status: 60 [QSIZE:2          NOTIFY:0     SIGNO:0     NOTIFY_PID:0]\n' +
  'after the second: count 0 sig 0 code 0 pid-is-me 0 uid 0 value 0\n' +
  'register with messages queued: 0\n' +
  'queue not empty: count 0 sig 0 code 0 pid-is-me 0 uid 0 value 0\n' +
  'queue was empty: count 1 sig 35 code -3 pid-is-me 1 uid 0 value 7\n' +
  'register: 0\n' +
  'child: register: -1 EBUSY\n' +
  'child: unregister (not its own): 0\n' +
  'child: register again: -1 EBUSY\n' +
  'child: 0\n' +
  'unregister: 0\n' +
  'status: 60 [QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0]\n' +
  'unregister again: 0\n' +
  'child: register: 0\n' +
  'child: 0\n' +
  'register after the child exited: 0\n' +
  'receiver: 5\n' +
  'message taken by the sleeping receiver: count 0 sig 0 code 0 pid-is-me 0 uid 0 value 0\n' +
  'still registered: 60 [QSIZE:0          NOTIFY:0     SIGNO:10    NOTIFY_PID:me]\n' +
  'then: count 1 sig 10 code -3 pid-is-me 1 uid 0 value 3\n' +
  'register: 0\n' +
  'sender: 0\n' +
  'sent by a child: count 1 sig 10 code -3 pid-is-me 0 uid 0 value 9\n' +
  'register SIGEV_NONE: 0\n' +
  'status: 60 [QSIZE:0          NOTIFY:1     SIGNO:0     NOTIFY_PID:me]\n' +
  'SIGEV_NONE: count 0 sig 0 code 0 pid-is-me 0 uid 0 value 0\n' +
  'status: 60 [QSIZE:4          NOTIFY:0     SIGNO:0     NOTIFY_PID:0]\n' +
  'register signal 0: 0\n' +
  'status: 60 [QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:me]\n' +
  'signal 0: count 0 sig 0 code 0 pid-is-me 0 uid 0 value 0\n' +
  'status: 60 [QSIZE:4          NOTIFY:0     SIGNO:0     NOTIFY_PID:0]\n' +
  'register: 0\n' +
  'child: register after the owner closed: 0\n' +
  'child: 0\n' +
  'register: 0\n' +
  'child: register after the owner closed a duplicate: 0\n' +
  'child: 0\n' +
  'sigev_notify 99: -1 EINVAL\n' +
  'signal 65: -1 EINVAL\n' +
  'signal -1: -1 EINVAL\n' +
  'bad fd: -1 EBADF\n' +
  'a pipe: -1 EBADF\n' +
  'bad sigevent pointer: -1 EFAULT\n' +
  'raw SIGEV_THREAD with a pipe: -1 ENOTSOCK\n' +
  'raw SIGEV_THREAD with a bad fd: -1 EBADF\n' +
  'raw SIGEV_THREAD with an AF_UNIX socket: -1 EINVAL\n' +
  'raw SIGEV_THREAD with a bad cookie: -1 EFAULT\n' +
  'done\n';

const LINUX_ONLY =
  '== linux-only\n' +
  'create with access mode 3: ok\n' +
  'its F_GETFL: 3\n' +
  'send: -1 EBADF\n' +
  'receive: -1 EBADF\n' +
  'getattr: flags 0 maxmsg 10 msgsize 8192 curmsgs 0\n' +
  'open existing with access mode 3: -1 EINVAL\n' +
  'raw getsetattr bad fd, no attributes: -1 EBADF\n' +
  'raw getsetattr bad new pointer: -1 EFAULT\n' +
  'raw getsetattr bad old pointer: -1 EFAULT\n' +
  'default queue 9: EMFILE\n' +
  // from here on a capable root (CAP_SYS_RESOURCE), which the host's root is not
  'raise RLIMIT_MSGQUEUE: 0\n' +
  'root: maxmsg 11 msgsize 8192: ok\n' +
  'attr: flags 0 maxmsg 11 msgsize 8192 curmsgs 0\n' +
  'root: maxmsg 65536 msgsize 1: ok\n' +
  'attr: flags 0 maxmsg 65536 msgsize 1 curmsgs 0\n' +
  'root: maxmsg 65537 msgsize 1: -1 EINVAL\n' +
  'root: maxmsg 1 msgsize 16777216: ok\n' +
  'attr: flags 0 maxmsg 1 msgsize 16777216 curmsgs 0\n' +
  'root: maxmsg 1 msgsize 16777217: -1 EINVAL\n' +
  "nobody: raw unlink of root's queue: -1 EPERM\n" +
  'nobody: opens it O_RDWR: ok\n' +
  'nobody: queue 255: ENOSPC\n' +
  'child: 0\n' +
  'root: one more: ok\n' +
  'done\n';

describe('POSIX message queues: Linux behaviour where qemu-user differs', () => {
  it('mq_notify: SIGEV_SIGNAL/SIGEV_NONE, one shot, EBUSY, owner gone, sleeping receiver, siginfo, errors', async () => {
    const bin = fixture('sys_mqueue', 'static');
    const l = await runLichen(bin, { args: ['notify'], limits, deterministic: { seed: 1 } });
    expect(l.stdout).toBe(NOTIFY);
    expect(l.exitCode).toBe(0);
  });
  it('mq_notify in normal (wall-clock) mode, dynamic', async () => {
    const l = await runLichen(fixture('sys_mqueue', 'dynamic'), { args: ['notify'], limits });
    expect(l.stdout).toBe(NOTIFY);
    expect(l.exitCode).toBe(0);
  });
  it('access mode 3, mq_getsetattr errors, RLIMIT_MSGQUEUE, a capable root, queues_max, EPERM unlink', async () => {
    const l = await runLichen(fixture('sys_mqueue', 'static'), {
      args: ['linux-only'],
      limits,
      deterministic: { seed: 1 },
    });
    expect(l.stdout).toBe(LINUX_ONLY);
    expect(l.exitCode).toBe(0);
  });
});

describe('POSIX message queues: memory and gaps', () => {
  it('queued messages are charged to the memory quota: ENOMEM when it is full, freed by receive and unlink', async () => {
    const l = await runLichen(fixture('sys_mqueue', 'static'), {
      args: ['quota'],
      limits: { ...limits, memoryBytes: 64 << 20 },
      deterministic: { seed: 1 },
    });
    expect(l.stdout).toBe(
      '== quota\n' +
        'create 4096 x 1 MiB: ok\n' +
        'send: ENOMEM after at least 16 MiB: 1, less than 128 MiB: 1\n' +
        'receive one: 1048576\n' +
        'send after that: 0\n' +
        'unlink (frees the messages): 0\n' +
        'as many again (within one): 1\n' +
        'done\n',
    );
    expect(l.exitCode).toBe(0);
    expect(l.result.stats.maxMemoryBytes).toBeLessThanOrEqual(64 << 20);
  });
  it("glibc's SIGEV_THREAD needs a NETLINK socket this kernel lacks: ENOSYS (Linux starts a thread)", async () => {
    const l = await runLichen(fixture('sys_mqueue', 'static'), { args: ['gaps'], limits, deterministic: { seed: 1 } });
    expect(l.stdout).toBe('== gaps\nglibc SIGEV_THREAD: -1 ENOSYS\ndone\n');
  });
});
