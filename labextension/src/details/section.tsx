import React, { useId } from 'react';

/** One part of the details view: a heading and its content, as a labelled region. */
export function DetailsSection(props: {
  /** Names the test hook: `codecrafter-details-<name>`. */
  name: string;
  heading: string;
  /** Shown after the heading, such as how many people are online. */
  count?: number;
  children: React.ReactNode;
}): React.JSX.Element {
  const id = useId();
  return (
    <section
      className="jp-CodeCrafter-detailsSection"
      aria-labelledby={id}
      data-testid={`codecrafter-details-${props.name}`}
    >
      <h3 id={id} className="jp-CodeCrafter-detailsHeading">
        {props.heading}
        {props.count !== undefined && (
          <span className="jp-CodeCrafter-count"> ({props.count})</span>
        )}
      </h3>
      {props.children}
    </section>
  );
}
