import {
  Button,
  notebookIcon,
  textEditorIcon
} from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import type { CodeCrafterClient } from '../api';
import type { ISession, SessionScope } from '../models';
import { describeError, type SessionActions } from './actions';

interface IPages {
  sessions: ISession[];
  cursor: string | null;
  loading: boolean;
  error: string | null;
}

const EMPTY: IPages = {
  sessions: [],
  cursor: null,
  loading: true,
  error: null
};

/**
 * The pages of one list loaded so far. A new scope, query or reload starts
 * over; answers to requests made before that are dropped.
 */
function usePages(
  client: CodeCrafterClient,
  scope: SessionScope,
  query: string,
  pageSize: number,
  reloadKey: number
): IPages & { more: () => void } {
  const [pages, setPages] = useState<IPages>(EMPTY);
  const generation = useRef(0);

  const load = useCallback(
    (cursor: string | null, previous: ISession[]) => {
      const mine = ++generation.current;
      setPages({ sessions: previous, cursor, loading: true, error: null });
      const request = {
        scope,
        q: query,
        limit: pageSize,
        cursor: cursor ?? undefined
      };
      client.listSessions(request).then(
        page => {
          if (mine === generation.current) {
            const sessions = [...previous, ...page.sessions];
            setPages({
              sessions,
              cursor: page.next_cursor,
              loading: false,
              error: null
            });
          }
        },
        (reason: unknown) => {
          if (mine === generation.current) {
            setPages({
              sessions: previous,
              cursor,
              loading: false,
              error: describeError(reason)
            });
          }
        }
      );
    },
    [client, scope, query, pageSize]
  );

  useEffect(() => {
    load(null, []);
  }, [load, reloadKey]);

  const more = (): void => {
    if (pages.cursor !== null && !pages.loading) {
      load(pages.cursor, pages.sessions);
    }
  };
  return { ...pages, more };
}

export function SessionList(props: {
  client: CodeCrafterClient;
  actions: SessionActions;
  scope: SessionScope;
  label: string;
  query: string;
  pageSize: number;
  reloadKey: number;
  /** The session whose details are shown. */
  selectedId: string | null;
  onSelect: (session: ISession) => void;
}): React.JSX.Element {
  const pages = usePages(
    props.client,
    props.scope,
    props.query,
    props.pageSize,
    props.reloadKey
  );
  const empty =
    !pages.loading && pages.error === null && pages.sessions.length === 0;
  return (
    <div className="jp-CodeCrafter-listArea" aria-busy={pages.loading}>
      <ul
        className="jp-CodeCrafter-list"
        aria-label={props.label}
        data-testid={`codecrafter-list-${props.scope}`}
      >
        {pages.sessions.map(session => (
          <SessionItem
            key={session.id}
            session={session}
            actions={props.actions}
            selected={session.id === props.selectedId}
            onSelect={props.onSelect}
          />
        ))}
      </ul>
      {empty && (
        <p className="jp-CodeCrafter-empty" data-testid="codecrafter-empty">
          {props.query
            ? `No session title contains “${props.query}”.`
            : 'No sessions here yet.'}
        </p>
      )}
      {pages.error !== null && (
        <p
          className="jp-CodeCrafter-message jp-mod-error"
          role="alert"
          data-testid="codecrafter-list-error"
        >
          {pages.error}
        </p>
      )}
      {pages.loading && <p className="jp-CodeCrafter-empty">Loading…</p>}
      {pages.cursor !== null && !pages.loading && (
        <Button
          className="jp-CodeCrafter-more"
          data-testid="codecrafter-more"
          onClick={pages.more}
        >
          More
        </Button>
      )}
    </div>
  );
}

function SessionItem({
  session,
  actions,
  selected,
  onSelect
}: {
  session: ISession;
  actions: SessionActions;
  selected: boolean;
  onSelect: (session: ISession) => void;
}): React.JSX.Element {
  const Icon = session.kind === 'notebook' ? notebookIcon : textEditorIcon;
  const manages = session.role === 'owner' || session.role === 'admin';
  const act = (name: string, run: () => Promise<void>): React.JSX.Element => (
    <Button
      small
      minimal
      className="jp-CodeCrafter-action"
      aria-label={`${name} ${session.title}`}
      data-testid={`codecrafter-${name.toLowerCase()}`}
      onClick={() => void run()}
    >
      {name}
    </Button>
  );
  return (
    // Clicking the row is a shortcut for its Details button, which is the
    // way in for the keyboard; clicks on its other buttons do their own thing.
    <li
      className={
        selected
          ? 'jp-CodeCrafter-session jp-mod-selected'
          : 'jp-CodeCrafter-session'
      }
      aria-current={selected ? 'true' : undefined}
      data-testid="codecrafter-session"
      data-session-id={session.id}
      onClick={event => {
        if (!(event.target as Element).closest('button, a, input, select')) {
          onSelect(session);
        }
      }}
    >
      <div className="jp-CodeCrafter-sessionHeader">
        <Icon.react tag="span" className="jp-CodeCrafter-kindIcon" />
        <span className="jp-CodeCrafter-title" title={session.title}>
          {session.title}
        </span>
        {session.is_public && (
          <span className="jp-CodeCrafter-badge">Public</span>
        )}
      </div>
      <div className="jp-CodeCrafter-meta">{describeSession(session)}</div>
      <div
        className="jp-CodeCrafter-actions"
        role="group"
        aria-label={`Actions for ${session.title}`}
      >
        {act('Open', () => actions.open(session))}
        {act('Details', () => {
          onSelect(session);
          return Promise.resolve();
        })}
        {act('Fork', () => actions.fork(session))}
        {manages && act('Rename', () => actions.rename(session))}
        {manages &&
          (session.is_public
            ? act('Unpublish', () => actions.setPublic(session, false))
            : act('Publish', () => actions.setPublic(session, true)))}
        {session.role === 'owner' &&
          act('Delete', () => actions.remove(session))}
      </div>
    </li>
  );
}

function describeSession(session: ISession): string {
  const kind = session.kind === 'notebook' ? 'Notebook' : 'File';
  const role = session.role ? `you: ${session.role}` : 'public';
  const updated = new Date(session.updated_at);
  const when = Number.isNaN(updated.getTime())
    ? ''
    : ` · ${updated.toLocaleString()}`;
  return `${kind} · ${session.language} · ${role}${when}`;
}
