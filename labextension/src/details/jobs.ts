import type { IJob, IJobPage } from '../models';

/** The runs loaded so far, newest first, and the cursor for older ones. */
export interface IHistory {
  jobs: IJob[];
  cursor: string | null;
}

/** How many runs a refresh asks for: what is shown, within the server's limits. */
export function refreshLimit(loaded: number, pageSize: number): number {
  return Math.min(Math.max(loaded, pageSize), 100);
}

/**
 * The history after a refresh of its newest runs: the fresh page replaces
 * what it covers (statuses change, new runs appear on top), and older runs
 * loaded with "More" stay below it when the page reaches them. When it does
 * not (more new runs than the page holds), they are dropped rather than shown
 * after a gap, and "More" continues from the fresh page.
 */
export function refreshHistory(old: IHistory, fresh: IJobPage): IHistory {
  const last = fresh.jobs.at(-1);
  if (fresh.next_cursor === null || last === undefined) {
    return { jobs: fresh.jobs, cursor: fresh.next_cursor };
  }
  const at = old.jobs.findIndex(job => job.id === last.id);
  const tail = at < 0 ? [] : old.jobs.slice(at + 1);
  if (tail.length === 0) {
    return { jobs: fresh.jobs, cursor: fresh.next_cursor };
  }
  return { jobs: [...fresh.jobs, ...tail], cursor: old.cursor };
}

/** The history with an older page appended (ignoring runs already shown). */
export function appendHistory(old: IHistory, page: IJobPage): IHistory {
  const shown = new Set(old.jobs.map(job => job.id));
  const older = page.jobs.filter(job => !shown.has(job.id));
  return { jobs: [...old.jobs, ...older], cursor: page.next_cursor };
}

/** The history with one run replaced by its newer state. */
export function replaceJob(old: IHistory, job: IJob): IHistory {
  return { ...old, jobs: old.jobs.map(j => (j.id === job.id ? job : j)) };
}
