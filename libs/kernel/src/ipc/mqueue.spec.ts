import { describe, expect, it } from 'vitest';
import { MessageQueue } from './mqueue';

const queue = (maxmsg: number): MessageQueue =>
  new MessageQueue('q', 0o600, 0, 0, maxmsg, 64, 0, 0, 0, { sec: 0, nsec: 0 });

describe('MessageQueue: message order', () => {
  it('gives the highest priority first and keeps FIFO order within a priority', () => {
    const q = queue(65536);
    // a seeded mix of few and many priorities, the full 0..32767 range included
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const sent: { prio: number; seq: number }[] = [];
    for (let i = 0; i < 5000; i++) {
      const prio = i % 3 === 0 ? rand(32768) : rand(4);
      sent.push({ prio, seq: i });
      q.insert({ prio, data: new Uint8Array([i & 0xff, i >> 8]) });
    }
    expect(q.curmsgs).toBe(5000);
    expect(q.qsize).toBe(10000);
    const want = [...sent].sort((a, b) => b.prio - a.prio || a.seq - b.seq);
    const got: { prio: number; seq: number }[] = [];
    while (q.curmsgs > 0) {
      const m = q.take();
      got.push({ prio: m.prio, seq: m.data[0] | (m.data[1] << 8) });
    }
    expect(got).toEqual(want);
    expect(q.qsize).toBe(0);
  });

  it('interleaves sends and receives like a queue per priority', () => {
    const q = queue(10);
    const take = (): string => String.fromCharCode(...q.take().data);
    const put = (s: string, prio: number): void => q.insert({ prio, data: Uint8Array.from(s, (c) => c.charCodeAt(0)) });
    put('a', 1);
    put('b', 1);
    expect(take()).toBe('a');
    put('c', 2);
    put('d', 1);
    expect([take(), take(), take()]).toEqual(['c', 'b', 'd']);
    put('', 0);
    expect(q.curmsgs).toBe(1);
    expect(q.drain()).toBe(48);
    expect(q.curmsgs).toBe(0);
  });
});
