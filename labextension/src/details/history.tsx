import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import type { IJob } from '../models';
import {
  formatExact,
  formatWhen,
  isPending,
  runDuration,
  STATUS_LABELS
} from './format';
import type { IHistory } from './jobs';
import type { SessionDetailsModel } from './model';
import { DetailsSection } from './section';

/** The session's runs, newest first: who, status, when, how long. */
export function HistorySection(props: {
  model: SessionDetailsModel;
  history: IHistory | null;
  loadingMore: boolean;
  now: number;
}): React.JSX.Element {
  const { model, history } = props;
  return (
    <DetailsSection name="history" heading="Run history">
      {history === null ? (
        <p className="jp-CodeCrafter-empty">Loading…</p>
      ) : history.jobs.length === 0 ? (
        <p className="jp-CodeCrafter-empty">Nothing has run yet.</p>
      ) : (
        <ol
          className="jp-CodeCrafter-detailsList"
          aria-label="Run history"
          data-testid="codecrafter-history"
        >
          {history.jobs.map(job => (
            <RunRow key={job.id} model={model} job={job} now={props.now} />
          ))}
        </ol>
      )}
      {history !== null && history.cursor !== null && (
        <Button
          small
          className="jp-CodeCrafter-more"
          data-testid="codecrafter-history-more"
          aria-label="Load older runs"
          disabled={props.loadingMore}
          onClick={() => void model.loadMore()}
        >
          {props.loadingMore ? 'Loading…' : 'More'}
        </Button>
      )}
    </DetailsSection>
  );
}

function RunRow(props: {
  model: SessionDetailsModel;
  job: IJob;
  now: number;
}): React.JSX.Element {
  const { model, job } = props;
  const [busy, setBusy] = useState(false);
  const who = model.names.who(job.user_id);
  const what =
    job.kind === 'cell'
      ? `cell${job.execution_count === null ? '' : ` [${job.execution_count}]`}`
      : job.kind;
  const cancellable = job.user_id === model.me.id && isPending(job);
  const duration = runDuration(job, props.now);
  return (
    <li
      className="jp-CodeCrafter-detailsRow jp-CodeCrafter-run"
      data-testid="codecrafter-run"
      data-job-id={job.id}
      data-status={job.status}
      data-user-id={job.user_id}
    >
      <span
        className={`jp-CodeCrafter-runStatus jp-mod-${job.status}`}
        title={job.error ?? undefined}
      >
        {STATUS_LABELS[job.status]}
      </span>
      <span className="jp-CodeCrafter-person">{who}</span>
      <span className="jp-CodeCrafter-detailsMeta">
        {what} ·{' '}
        <time dateTime={job.queued_at} title={formatExact(job.queued_at)}>
          {formatWhen(job.queued_at, props.now)}
        </time>
        {duration && ` · ${duration}`}
      </span>
      {cancellable && (
        <Button
          small
          minimal
          className="jp-CodeCrafter-action"
          aria-label={`Cancel your ${what} run`}
          data-testid="codecrafter-run-cancel"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void model.cancel(job).finally(() => {
              setBusy(false);
            });
          }}
        >
          Cancel
        </Button>
      )}
    </li>
  );
}
