import {
  Button,
  InputGroup,
  searchIcon,
  UseSignal
} from '@jupyterlab/ui-components';
import React, { useEffect, useMemo, useState } from 'react';

import type { IUser, SessionScope } from '../models';
import type { ICodeCrafter } from '../tokens';
import { type IPanelMessage, SessionActions } from './actions';
import type { PanelModel } from './model';
import type { IPanelServices } from './services';
import { SessionList } from './sessionlist';

const SEARCH_DELAY_MS = 300;

const SCOPES: { scope: SessionScope; label: string }[] = [
  { scope: 'mine', label: 'Mine' },
  { scope: 'shared', label: 'Shared with me' },
  { scope: 'public', label: 'Public' }
];

/** The signed-in view: who you are, what you can create, your session lists. */
export function SessionsView(props: {
  services: IPanelServices;
  /** The selection and notices shared with the details section. */
  panel: PanelModel;
  user: IUser;
  pageSize: number;
}): React.JSX.Element {
  const { services, panel } = props;
  const [scope, setScope] = useState<SessionScope>('mine');
  const [search, setSearch] = useState('');
  const query = useDebounced(search.trim(), SEARCH_DELAY_MS);
  const [message, setMessage] = useState<IPanelMessage | null>(null);
  const [reloadKey, setReloadKey] = useState(0);

  const actions = useMemo(
    () =>
      new SessionActions({
        ...services,
        listener: {
          notify: setMessage,
          changed: changedScope => {
            setScope(changedScope);
            setReloadKey(key => key + 1);
          },
          removed: session => {
            if (panel.selected?.id === session.id) {
              panel.select(null);
            }
          }
        }
      }),
    [services, panel]
  );
  // A list changed outside the lists (an invite was joined): show it reloaded.
  const request = panel.listRequest;
  useEffect(() => {
    if (request !== null) {
      if (request.scope !== null) {
        setScope(request.scope);
      }
      setReloadKey(key => key + 1);
    }
  }, [request]);
  const label = SCOPES.find(s => s.scope === scope)?.label ?? scope;

  return (
    <div className="jp-CodeCrafter-sessions">
      <UserBar codecrafter={services.codecrafter} user={props.user} />
      <CreateBar actions={actions} services={services} />
      <div
        className="jp-CodeCrafter-tabs"
        role="tablist"
        aria-label="Session lists"
      >
        {SCOPES.map(item => (
          <button
            key={item.scope}
            type="button"
            role="tab"
            id={`jp-CodeCrafter-tab-${item.scope}`}
            aria-selected={item.scope === scope}
            aria-controls="jp-CodeCrafter-tabpanel"
            data-testid={`codecrafter-tab-${item.scope}`}
            className={
              item.scope === scope
                ? 'jp-CodeCrafter-tab jp-mod-active'
                : 'jp-CodeCrafter-tab'
            }
            onClick={() => {
              setScope(item.scope);
            }}
          >
            {item.label}
          </button>
        ))}
      </div>
      <div
        id="jp-CodeCrafter-tabpanel"
        role="tabpanel"
        aria-labelledby={`jp-CodeCrafter-tab-${scope}`}
        className="jp-CodeCrafter-tabpanel"
      >
        <InputGroup
          type="search"
          className="jp-CodeCrafter-search"
          aria-label="Search sessions by title"
          data-testid="codecrafter-search"
          placeholder="Search titles"
          rightIcon={searchIcon}
          value={search}
          onChange={event => {
            setSearch(event.target.value);
          }}
        />
        {panel.notice !== null && (
          <MessageBar
            message={panel.notice}
            testId="codecrafter-notice"
            onDismiss={() => {
              panel.notice = null;
            }}
          />
        )}
        {message !== null && (
          <MessageBar
            message={message}
            onDismiss={() => {
              setMessage(null);
            }}
          />
        )}
        <SessionList
          client={services.codecrafter.client}
          actions={actions}
          scope={scope}
          label={`${label} sessions`}
          query={query}
          pageSize={props.pageSize}
          reloadKey={reloadKey}
          selectedId={panel.selected?.id ?? null}
          onSelect={session => {
            panel.select(session);
          }}
        />
      </div>
    </div>
  );
}

function UserBar({
  codecrafter,
  user
}: {
  codecrafter: ICodeCrafter;
  user: IUser;
}): React.JSX.Element {
  const name = user.display_name || user.username;
  return (
    <div className="jp-CodeCrafter-user" data-testid="codecrafter-user">
      <span className="jp-CodeCrafter-userName" title={user.email}>
        Signed in as <strong>{name}</strong>
        {name !== user.username && ` (@${user.username})`}
      </span>
      <Button
        small
        data-testid="codecrafter-signout"
        onClick={() => void codecrafter.auth.signOut()}
      >
        Sign out
      </Button>
    </div>
  );
}

function CreateBar({
  actions,
  services
}: {
  actions: SessionActions;
  services: IPanelServices;
}): React.JSX.Element {
  const fromNotebook = (): React.JSX.Element => {
    const path = actions.currentNotebookPath;
    return (
      <Button
        small
        disabled={path === null}
        title={
          path === null
            ? 'Open a notebook in the main area first'
            : `Copy ${path} into a new session`
        }
        data-testid="codecrafter-new-from-current"
        onClick={() => void actions.createFromCurrentNotebook()}
      >
        New from current notebook
      </Button>
    );
  };
  return (
    <div
      className="jp-CodeCrafter-create"
      role="group"
      aria-label="Create a session"
    >
      <Button
        small
        data-testid="codecrafter-new-notebook"
        onClick={() => void actions.createBlank('notebook')}
      >
        New notebook
      </Button>
      <Button
        small
        data-testid="codecrafter-new-file"
        onClick={() => void actions.createBlank('file')}
      >
        New text file
      </Button>
      {services.notebooks ? (
        <UseSignal signal={services.notebooks.currentChanged}>
          {fromNotebook}
        </UseSignal>
      ) : (
        fromNotebook()
      )}
    </div>
  );
}

/** A message with a dismiss button; an error is announced at once. */
export function MessageBar({
  message,
  onDismiss,
  testId = 'codecrafter-message'
}: {
  message: IPanelMessage;
  onDismiss: () => void;
  testId?: string;
}): React.JSX.Element {
  const error = message.kind === 'error';
  return (
    <div
      className={`jp-CodeCrafter-message ${error ? 'jp-mod-error' : 'jp-mod-info'}`}
      role={error ? 'alert' : 'status'}
      data-testid={testId}
    >
      <span>{message.text}</span>
      <button
        type="button"
        className="jp-CodeCrafter-link"
        aria-label="Dismiss message"
        onClick={onDismiss}
      >
        ×
      </button>
    </div>
  );
}

function useDebounced<T>(value: T, delayMs: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => {
      setSettled(value);
    }, delayMs);
    return () => {
      clearTimeout(timer);
    };
  }, [value, delayMs]);
  return settled;
}
