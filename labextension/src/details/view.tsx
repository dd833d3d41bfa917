import { notebookIcon, textEditorIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { MessageBar } from '../panel/sessions';
import { hasRole } from './format';
import { HistorySection } from './history';
import { InvitesSection } from './invites';
import { KernelSection } from './kernel';
import { MembersSection } from './members';
import type { IDetailsState, SessionDetailsModel } from './model';
import { OnlineSection } from './online';

/** Everything about the selected session, in the order a teacher needs it. */
export function DetailsView(props: {
  model: SessionDetailsModel;
  state: IDetailsState;
}): React.JSX.Element {
  const { model, state } = props;
  const { session } = state;
  const role = session.role;
  const manages = hasRole(role, 'admin');
  const Icon = session.kind === 'notebook' ? notebookIcon : textEditorIcon;

  return (
    <div
      className="jp-CodeCrafter-details"
      data-testid="codecrafter-session-details"
      data-session-id={session.id}
    >
      <div className="jp-CodeCrafter-detailsHeader">
        <Icon.react tag="span" className="jp-CodeCrafter-kindIcon" />
        <h2
          className="jp-CodeCrafter-detailsTitle"
          data-testid="codecrafter-details-title"
          title={session.title}
        >
          {session.title}
        </h2>
      </div>
      <p className="jp-CodeCrafter-meta" data-testid="codecrafter-details-role">
        {session.kind === 'notebook' ? 'Notebook' : 'File'} · {session.language}{' '}
        · you: {role ?? 'reader of a public session'}
      </p>
      {state.lost !== null ? (
        <p
          className="jp-CodeCrafter-message jp-mod-warning"
          role="alert"
          data-testid="codecrafter-details-lost"
        >
          {state.lost}
        </p>
      ) : (
        <>
          {state.message !== null && (
            <MessageBar
              message={state.message}
              testId="codecrafter-details-message"
              onDismiss={() => {
                model.dismissMessage();
              }}
            />
          )}
          {state.error !== null && (
            <p
              className="jp-CodeCrafter-message jp-mod-warning"
              data-testid="codecrafter-details-error"
            >
              {state.error}
            </p>
          )}
          <MembersSection
            model={model}
            collaborators={state.collaborators}
            manages={manages}
          />
          {manages && (
            <InvitesSection
              model={model}
              invites={state.invites}
              now={state.now}
            />
          )}
          <OnlineSection present={state.present} me={model.me.id} />
          <KernelSection
            model={model}
            kernel={state.kernel}
            writes={hasRole(role, 'write')}
            now={state.now}
          />
          <HistorySection
            model={model}
            history={state.history}
            loadingMore={state.loadingMore}
            now={state.now}
          />
        </>
      )}
    </div>
  );
}
