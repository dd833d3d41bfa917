import { Button } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import type { IKernelStatus, KernelState } from '../models';
import { confirmAction } from './dialogs';
import { formatExact, formatWhen } from './format';
import type { SessionDetailsModel } from './model';
import { DetailsSection } from './section';

const STATE_LABELS: Record<KernelState, string> = {
  none: 'No kernel (it starts with the first run)',
  starting: 'Starting',
  idle: 'Idle',
  busy: 'Busy',
  dead: 'Dead'
};

/** The session's sandbox kernel; writers interrupt and restart it. */
export function KernelSection(props: {
  model: SessionDetailsModel;
  kernel: IKernelStatus | null;
  writes: boolean;
  now: number;
}): React.JSX.Element {
  const { model, kernel } = props;
  const [busy, setBusy] = useState(false);
  const state = kernel?.state ?? null;
  const run = (action: 'interrupt' | 'restart'): void => {
    setBusy(true);
    void model.kernelAction(action).finally(() => {
      setBusy(false);
    });
  };
  const restart = async (): Promise<void> => {
    const confirmed = await confirmAction(
      'Restart the kernel?',
      'Every variable of the session’s kernel is lost, for everyone; a running cell is cancelled.',
      'Restart'
    );
    if (confirmed) {
      run('restart');
    }
  };
  const activity = kernel?.last_activity_at ?? null;

  return (
    <DetailsSection name="kernel" heading="Kernel">
      <div className="jp-CodeCrafter-kernel">
        <span
          className={`jp-CodeCrafter-kernelState jp-mod-${state ?? 'unknown'}`}
          data-testid="codecrafter-kernel-state"
          data-state={state ?? ''}
          aria-live="polite"
        >
          <span className="jp-CodeCrafter-kernelDot" aria-hidden="true" />
          {state === null ? 'Loading…' : STATE_LABELS[state]}
        </span>
        {activity !== null && (
          <span
            className="jp-CodeCrafter-detailsMeta"
            title={formatExact(activity)}
          >
            last active {formatWhen(activity, props.now)}
          </span>
        )}
      </div>
      {props.writes && (
        <div
          className="jp-CodeCrafter-actions"
          role="group"
          aria-label="Kernel actions"
        >
          <Button
            small
            data-testid="codecrafter-kernel-interrupt"
            aria-label="Interrupt the kernel"
            title="Stop the running cell; the variables stay"
            disabled={
              busy || state === null || state === 'none' || state === 'dead'
            }
            onClick={() => {
              run('interrupt');
            }}
          >
            Interrupt
          </Button>
          <Button
            small
            data-testid="codecrafter-kernel-restart"
            aria-label="Restart the kernel"
            title="A fresh kernel, without the variables"
            disabled={busy || state === null || state === 'none'}
            onClick={() => void restart()}
          >
            Restart
          </Button>
        </div>
      )}
    </DetailsSection>
  );
}
