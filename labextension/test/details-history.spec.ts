import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  appendHistory,
  refreshHistory,
  refreshLimit,
  replaceJob
} from '../src/details/jobs';
import { Ticker } from '../src/details/ticker';
import type { IJob, JobStatus } from '../src/models';

function job(id: string, status: JobStatus = 'succeeded'): IJob {
  return {
    id,
    kind: 'cell',
    user_id: 'u1',
    status,
    language: 'python',
    session_id: 's1',
    cell_id: 'c1',
    execution_count: null,
    error: null,
    queued_at: '2025-01-01T00:00:00Z',
    started_at: null,
    finished_at: null
  };
}

function jobs(...ids: string[]): IJob[] {
  return ids.map(id => job(id));
}

describe('run history paging', () => {
  it('a refresh asks for as many runs as are shown, at least a page, at most 100', () => {
    expect(refreshLimit(0, 20)).toBe(20);
    expect(refreshLimit(45, 20)).toBe(45);
    expect(refreshLimit(250, 20)).toBe(100);
  });

  it('a refresh that reaches the end replaces everything', () => {
    const old = { jobs: jobs('b', 'a'), cursor: null };
    const fresh = {
      jobs: [job('c'), job('b', 'failed'), job('a')],
      next_cursor: null
    };
    expect(refreshHistory(old, fresh)).toEqual({
      jobs: fresh.jobs,
      cursor: null
    });
  });

  it('keeps the older runs that "More" loaded below the refreshed ones, with their cursor', () => {
    const old = { jobs: jobs('d', 'c', 'b', 'a'), cursor: 'after-a' };
    // Two new runs; the page of 3 ends at c, which the old list holds.
    const fresh = { jobs: jobs('f', 'e', 'd'), next_cursor: 'after-d' };
    expect(refreshHistory(old, fresh)).toEqual({
      jobs: jobs('f', 'e', 'd', 'c', 'b', 'a'),
      cursor: 'after-a'
    });
  });

  it('drops the older runs rather than showing a gap when more new runs came than a page holds', () => {
    const old = { jobs: jobs('b', 'a'), cursor: 'after-a' };
    const fresh = { jobs: jobs('e', 'd', 'c'), next_cursor: 'after-c' };
    expect(refreshHistory(old, fresh)).toEqual({
      jobs: jobs('e', 'd', 'c'),
      cursor: 'after-c'
    });
  });

  it('"More" appends older runs, skipping any already shown, and moves the cursor', () => {
    const old = { jobs: jobs('c', 'b'), cursor: 'after-b' };
    const page = { jobs: jobs('b', 'a'), next_cursor: null };
    expect(appendHistory(old, page)).toEqual({
      jobs: jobs('c', 'b', 'a'),
      cursor: null
    });
  });

  it('replaces one run by its newer state (after a cancel)', () => {
    const old = { jobs: [job('b', 'running'), job('a')], cursor: 'x' };
    expect(replaceJob(old, job('b', 'cancelled'))).toEqual({
      jobs: [job('b', 'cancelled'), job('a')],
      cursor: 'x'
    });
  });
});

describe('Ticker', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at once when started, then every interval after each run, until stopped', async () => {
    vi.useFakeTimers();
    const task = vi.fn(() => Promise.resolve());
    const ticker = new Ticker(task, 3000);

    ticker.running = true;
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2999);
    expect(task).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(task).toHaveBeenCalledTimes(2);

    ticker.running = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(task).toHaveBeenCalledTimes(2);
  });

  it('never runs twice at once: a tick during a run happens right after it', async () => {
    vi.useFakeTimers();
    let finish = (): void => undefined;
    const task = vi.fn(
      () =>
        new Promise<void>(resolve => {
          finish = resolve;
        })
    );
    const ticker = new Ticker(task, 3000);

    ticker.running = true;
    ticker.tick();
    ticker.tick();
    expect(task).toHaveBeenCalledTimes(1);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(task).toHaveBeenCalledTimes(2);
  });

  it('keeps its beat when a run fails, and stops for good once disposed', async () => {
    vi.useFakeTimers();
    const task = vi.fn(() => Promise.reject(new Error('offline')));
    const ticker = new Ticker(task, 1000);

    ticker.running = true;
    await vi.advanceTimersByTimeAsync(1000);
    expect(task).toHaveBeenCalledTimes(2);
    ticker.dispose();
    ticker.running = true;
    ticker.tick();
    await vi.advanceTimersByTimeAsync(5000);
    expect(task).toHaveBeenCalledTimes(2);
  });
});
