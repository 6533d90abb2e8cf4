import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, KEY_A, readSse, startService, waitRun } from './support/harness';
import type { Service, SseEvent } from './support/harness';

let svc: Service;
beforeAll(async () => {
  svc = await startService();
});
afterAll(async () => {
  await svc?.stop();
});

async function submit(body: unknown): Promise<string> {
  const r = await fetch(`${svc.url}/v1/runs`, {
    method: 'POST',
    headers: { ...auth(KEY_A), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(202);
  return ((await r.json()) as { id: string }).id;
}

const stdoutOf = (evs: SseEvent[]): string =>
  evs
    .filter((e) => e.event === 'stdout')
    .map((e) => JSON.parse(e.data) as { data: string })
    .map((d) => d.data)
    .join('');

const expected = Array.from({ length: 40 }, (_, i) => `line ${i}\n`).join('');

describe('console events (SSE over Redis streams)', () => {
  it('streams a live run: queued, running, stdout chunks with byte offsets, final status, end', async () => {
    const id = await submit({ image: 'scratch', argv: ['chunks', '40', '5'] });
    const { status, events } = await readSse(`${svc.url}/v1/runs/${id}/events`, auth(KEY_A));
    expect(status).toBe(200);
    expect(stdoutOf(events)).toBe(expected);
    const statuses = events
      .filter((e) => e.event === 'status')
      .map((e) => (JSON.parse(e.data) as { status: string }).status);
    expect(statuses).toEqual(['queued', 'running', 'succeeded']);
    expect(events[events.length - 1]?.event).toBe('end');
    let offset = 0;
    for (const e of events.filter((x) => x.event === 'stdout')) {
      const d = JSON.parse(e.data) as { offset: number; data: string };
      expect(d.offset).toBe(offset);
      offset += Buffer.byteLength(d.data);
    }
  });

  it('resumes from Last-Event-ID with no loss and no duplicates, also after the run finished', async () => {
    const id = await submit({ image: 'scratch', argv: ['chunks', '40', '5'] });
    const first = await readSse(`${svc.url}/v1/runs/${id}/events`, auth(KEY_A), 4);
    expect(first.events.length).toBe(4);
    const lastId = first.events[3]?.id as string;
    await waitRun(svc.url, KEY_A, id);
    const rest = await readSse(`${svc.url}/v1/runs/${id}/events`, { ...auth(KEY_A), 'last-event-id': lastId });
    const all = [...first.events, ...rest.events.filter((e) => e.event !== 'end')];
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(stdoutOf(all)).toBe(expected);
    // Replaying a finished run from the start gives the same console.
    const replay = await readSse(`${svc.url}/v1/runs/${id}/events`, auth(KEY_A));
    expect(stdoutOf(replay.events)).toBe(expected);
  });

  it('bounds the console stream and marks the cut with a truncated event', async () => {
    const small = await startServiceWith({ LICHEN_CONSOLE_MAX_BYTES: '50' });
    try {
      const r = await fetch(`${small.url}/v1/runs?wait=10`, {
        method: 'POST',
        headers: { ...auth(KEY_A), 'content-type': 'application/json' },
        body: JSON.stringify({ image: 'scratch', argv: ['chunks', '40', '1'] }),
      });
      const run = (await r.json()) as { id: string; stdout: string };
      expect(run.stdout).toBe(expected);
      const { events } = await readSse(`${small.url}/v1/runs/${run.id}/events`, auth(KEY_A));
      expect(stdoutOf(events)).toBe(expected.slice(0, 50));
      const cut = events.filter((e) => e.event === 'truncated');
      expect(cut.length).toBe(1);
      expect(JSON.parse(cut[0]!.data)).toMatchObject({ stream: 'stdout', droppedFrom: 50 });
    } finally {
      await small.stop();
    }
  });
});

function startServiceWith(extra: Record<string, string>): Promise<Service> {
  return startService(extra);
}
