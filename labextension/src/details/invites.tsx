import { Button, HTMLSelect, InputGroup } from '@jupyterlab/ui-components';
import React, { useEffect, useId, useState } from 'react';

import type { GrantedRole, IInvite } from '../models';
import { copyText } from './dialogs';
import {
  EXPIRY_CHOICES,
  formatExact,
  formatExpiry,
  formatUses,
  inviteState
} from './format';
import { GRANTED_ROLES } from './members';
import type { SessionDetailsModel } from './model';
import { DetailsSection } from './section';

const COPIED_MS = 2000;

/** Invite links of the session (admins and the owner): create, copy, revoke. */
export function InvitesSection(props: {
  model: SessionDetailsModel;
  invites: readonly IInvite[] | null;
  now: number;
}): React.JSX.Element {
  const active = props.invites?.filter(
    invite => inviteState(invite, props.now) === 'active'
  );
  return (
    <DetailsSection
      name="invites"
      heading="Invite links"
      count={active?.length}
    >
      <InviteForm model={props.model} />
      {active === undefined ? (
        <p className="jp-CodeCrafter-empty">Loading…</p>
      ) : active.length === 0 ? (
        <p className="jp-CodeCrafter-empty">
          No invite link works right now: create one to share.
        </p>
      ) : (
        <ul
          className="jp-CodeCrafter-detailsList"
          aria-label="Invite links"
          data-testid="codecrafter-invites"
        >
          {active.map(invite => (
            <InviteRow
              key={invite.code}
              model={props.model}
              invite={invite}
              now={props.now}
            />
          ))}
        </ul>
      )}
    </DetailsSection>
  );
}

function InviteForm({
  model
}: {
  model: SessionDetailsModel;
}): React.JSX.Element {
  const id = useId();
  const [role, setRole] = useState<GrantedRole>('write');
  const [expiry, setExpiry] = useState(0);
  const [uses, setUses] = useState('');
  const [busy, setBusy] = useState(false);
  const maxUses = uses.trim() === '' ? null : Number(uses);
  const valid = maxUses === null || (Number.isInteger(maxUses) && maxUses >= 1);

  const submit = (): void => {
    if (busy || !valid) {
      return;
    }
    setBusy(true);
    const request = {
      role,
      expires_in: EXPIRY_CHOICES[expiry].seconds,
      max_uses: maxUses
    };
    void model.createInvite(request).then(created => {
      setBusy(false);
      if (created) {
        setUses('');
      }
    });
  };

  return (
    <form
      className="jp-CodeCrafter-inviteForm"
      aria-label="Create an invite link"
      data-testid="codecrafter-invite-form"
      onSubmit={event => {
        event.preventDefault();
        submit();
      }}
    >
      <div className="jp-CodeCrafter-inviteField">
        <label htmlFor={`${id}-role`}>Role</label>
        <HTMLSelect
          id={`${id}-role`}
          data-testid="codecrafter-invite-role"
          value={role}
          options={GRANTED_ROLES.map(value => ({ value, label: value }))}
          onChange={event => {
            setRole(event.target.value as GrantedRole);
          }}
        />
      </div>
      <div className="jp-CodeCrafter-inviteField">
        <label htmlFor={`${id}-expiry`}>Expires</label>
        <HTMLSelect
          id={`${id}-expiry`}
          data-testid="codecrafter-invite-expiry"
          value={expiry}
          options={EXPIRY_CHOICES.map((choice, index) => ({
            value: index,
            label: choice.label
          }))}
          onChange={event => {
            setExpiry(Number(event.target.value));
          }}
        />
      </div>
      <div className="jp-CodeCrafter-inviteField">
        <label htmlFor={`${id}-uses`}>Uses</label>
        <InputGroup
          id={`${id}-uses`}
          type="number"
          min={1}
          step={1}
          placeholder="Unlimited"
          title="How many people may join with it; empty for no limit"
          aria-describedby={valid ? undefined : `${id}-uses-hint`}
          aria-invalid={!valid}
          data-testid="codecrafter-invite-uses"
          value={uses}
          onChange={event => {
            setUses(event.target.value);
          }}
        />
        {!valid && (
          <span id={`${id}-uses-hint`} className="jp-CodeCrafter-hint">
            A whole number, 1 or more.
          </span>
        )}
      </div>
      <Button
        type="submit"
        small
        className="jp-CodeCrafter-primary"
        data-testid="codecrafter-invite-create"
        disabled={busy || !valid}
        aria-busy={busy}
      >
        Create link
      </Button>
    </form>
  );
}

function InviteRow(props: {
  model: SessionDetailsModel;
  invite: IInvite;
  now: number;
}): React.JSX.Element {
  const { invite } = props;
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (copied === null) {
      return;
    }
    const timer = setTimeout(() => {
      setCopied(null);
    }, COPIED_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [copied]);

  const what = `${invite.role} invite link`;
  return (
    <li
      className="jp-CodeCrafter-detailsRow jp-CodeCrafter-invite"
      data-testid="codecrafter-invite"
      data-code={invite.code}
      data-role={invite.role}
    >
      <div className="jp-CodeCrafter-inviteSummary">
        <span className="jp-CodeCrafter-role">{invite.role}</span>
        <span
          className="jp-CodeCrafter-detailsMeta"
          title={`Created ${formatExact(invite.created_at)}${
            invite.expires_at
              ? `, expires ${formatExact(invite.expires_at)}`
              : ''
          }`}
        >
          {formatUses(invite)} · {formatExpiry(invite, props.now)}
        </span>
      </div>
      <input
        className="jp-CodeCrafter-inviteUrl"
        readOnly
        value={invite.url}
        aria-label={`URL of the ${what}`}
        data-testid="codecrafter-invite-url"
        onFocus={event => {
          event.target.select();
        }}
      />
      <div className="jp-CodeCrafter-actions">
        <Button
          small
          minimal
          className="jp-CodeCrafter-action"
          aria-label={`Copy the ${what}`}
          data-testid="codecrafter-invite-copy"
          onClick={() => {
            copyText(invite.url).then(
              () => {
                setCopied('yes');
              },
              () => {
                setCopied('failed');
              }
            );
          }}
        >
          Copy
        </Button>
        <Button
          small
          minimal
          className="jp-CodeCrafter-action"
          aria-label={`Revoke the ${what}`}
          data-testid="codecrafter-invite-revoke"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void props.model.revokeInvite(invite).finally(() => {
              setBusy(false);
            });
          }}
        >
          Revoke
        </Button>
        <span
          className="jp-CodeCrafter-detailsMeta"
          role="status"
          data-testid="codecrafter-invite-copied"
        >
          {copied === 'yes' && 'Copied'}
          {copied === 'failed' && 'Select the link and copy it'}
        </span>
      </div>
    </li>
  );
}
