import { Button, HTMLSelect } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import type { GrantedRole, ICollaborator } from '../models';
import { confirmAction } from './dialogs';
import type { SessionDetailsModel } from './model';
import { DetailsSection } from './section';

export const GRANTED_ROLES: readonly GrantedRole[] = ['read', 'write', 'admin'];

/** Who has a role on the session; the owner and admins change and remove them. */
export function MembersSection(props: {
  model: SessionDetailsModel;
  collaborators: readonly ICollaborator[] | null;
  manages: boolean;
}): React.JSX.Element {
  const { collaborators } = props;
  return (
    <DetailsSection
      name="collaborators"
      heading="Collaborators"
      count={collaborators?.length}
    >
      {collaborators === null ? (
        <p className="jp-CodeCrafter-empty">Loading…</p>
      ) : (
        <ul
          className="jp-CodeCrafter-detailsList"
          aria-label="Collaborators"
          data-testid="codecrafter-collaborators"
        >
          {collaborators.map(member => (
            <MemberRow
              key={member.user.id}
              model={props.model}
              member={member}
              manages={props.manages}
            />
          ))}
        </ul>
      )}
    </DetailsSection>
  );
}

function MemberRow(props: {
  model: SessionDetailsModel;
  member: ICollaborator;
  manages: boolean;
}): React.JSX.Element {
  const { model, member } = props;
  const [busy, setBusy] = useState(false);
  const self = member.user.id === model.me.id;
  const name = member.user.display_name || member.user.username;
  const owner = member.role === 'owner';
  // You do not change your own role here: leaving is the one thing to do.
  const editable = props.manages && !owner && !self;

  const run = (action: () => Promise<void>): void => {
    setBusy(true);
    void action().finally(() => {
      setBusy(false);
    });
  };
  const remove = async (): Promise<void> => {
    const confirmed = self
      ? await confirmAction(
          'Leave session?',
          `You will lose access to “${model.state.session.title}” unless someone invites you again.`,
          'Leave'
        )
      : await confirmAction(
          `Remove ${name}?`,
          `${name} will lose access to “${model.state.session.title}” at once; an open tab of theirs closes.`,
          'Remove'
        );
    if (confirmed) {
      await model.remove(member);
    }
  };

  return (
    <li
      className="jp-CodeCrafter-detailsRow"
      data-testid="codecrafter-collaborator"
      data-user-id={member.user.id}
      data-username={member.user.username}
      data-role={member.role}
    >
      <span
        className="jp-CodeCrafter-person"
        title={`@${member.user.username}`}
      >
        {name}
        {self && ' (you)'}
        {name !== member.user.username && (
          <span className="jp-CodeCrafter-detailsMeta">
            {' '}
            @{member.user.username}
          </span>
        )}
      </span>
      {editable ? (
        <HTMLSelect
          className="jp-CodeCrafter-roleSelect"
          aria-label={`Role of ${name}`}
          data-testid="codecrafter-collaborator-role"
          value={member.role}
          disabled={busy}
          options={GRANTED_ROLES.map(role => ({ value: role, label: role }))}
          onChange={event => {
            const role = event.target.value as GrantedRole;
            run(() => model.setRole(member, role));
          }}
        />
      ) : (
        <span
          className="jp-CodeCrafter-role"
          data-testid="codecrafter-collaborator-role-text"
        >
          {member.role}
        </span>
      )}
      {(editable || (self && !owner)) && (
        <Button
          small
          minimal
          className="jp-CodeCrafter-action"
          aria-label={self ? 'Leave this session' : `Remove ${name}`}
          data-testid={
            self
              ? 'codecrafter-collaborator-leave'
              : 'codecrafter-collaborator-remove'
          }
          disabled={busy}
          onClick={() => {
            run(remove);
          }}
        >
          {self ? 'Leave' : 'Remove'}
        </Button>
      )}
    </li>
  );
}
