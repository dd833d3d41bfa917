import React from 'react';

import type { IPresent } from '../models';
import { DetailsSection } from './section';

/** Who has the session open right now, in their cursor colours. */
export function OnlineSection(props: {
  present: readonly IPresent[] | null;
  me: string;
}): React.JSX.Element {
  const { present } = props;
  return (
    <DetailsSection name="online" heading="Online now" count={present?.length}>
      {present === null ? (
        <p className="jp-CodeCrafter-empty">Loading…</p>
      ) : present.length === 0 ? (
        <p className="jp-CodeCrafter-empty">
          Nobody has this session open right now.
        </p>
      ) : (
        <ul
          className="jp-CodeCrafter-detailsList"
          aria-label="Online now"
          data-testid="codecrafter-online"
        >
          {present.map(person => (
            <li
              key={person.user_id}
              className="jp-CodeCrafter-detailsRow"
              data-testid="codecrafter-online-user"
              data-user-id={person.user_id}
              data-username={person.username}
              data-role={person.role}
            >
              <span
                className="jp-CodeCrafter-colour"
                style={{ backgroundColor: person.colour }}
                aria-hidden="true"
              />
              <span
                className="jp-CodeCrafter-person"
                title={`@${person.username}`}
              >
                {person.display_name || person.username}
                {person.user_id === props.me && ' (you)'}
              </span>
              <span className="jp-CodeCrafter-role">{person.role}</span>
              {person.connections > 1 && (
                <span className="jp-CodeCrafter-detailsMeta">
                  {person.connections} tabs
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </DetailsSection>
  );
}
