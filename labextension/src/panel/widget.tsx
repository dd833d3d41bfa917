import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import type { AuthManager, AuthState } from '../auth';
import { codecrafterIcon } from '../icons';
import type { IPanelServices } from './services';
import { SessionsView } from './sessions';
import { SignInView } from './signin';

export const PANEL_ID = 'jp-CodeCrafter-panel';

/** The CodeCrafter sidebar: the sign-in forms, then the session lists. */
export class CodeCrafterPanel extends ReactWidget {
  constructor(options: CodeCrafterPanel.IOptions) {
    super();
    this._services = options.services;
    this._pageSize = options.pageSize ?? 20;
    this.id = PANEL_ID;
    this.addClass('jp-CodeCrafter-panel');
    this.title.icon = codecrafterIcon;
    this.title.caption = 'CodeCrafter';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'CodeCrafter');
  }

  /** How many sessions each list loads at a time. */
  get pageSize(): number {
    return this._pageSize;
  }

  set pageSize(value: number) {
    if (value !== this._pageSize) {
      this._pageSize = value;
      this.update();
    }
  }

  protected render(): React.JSX.Element {
    const auth = this._services.codecrafter.auth;
    return (
      <UseSignal<AuthManager, AuthState>
        signal={auth.stateChanged}
        initialArgs={auth.state}
      >
        {(_, state) => this._renderState(state ?? auth.state)}
      </UseSignal>
    );
  }

  private _renderState(state: AuthState): React.JSX.Element {
    if (state.status === 'signed-out') {
      return (
        <SignInView
          auth={this._services.codecrafter.auth}
          reason={state.reason}
        />
      );
    }
    return (
      <SessionsView
        // A different user starts from a clean view; a renewal keeps it.
        key={state.user.id}
        services={this._services}
        user={state.user}
        pageSize={this._pageSize}
      />
    );
  }

  private _services: IPanelServices;
  private _pageSize: number;
}

export namespace CodeCrafterPanel {
  export interface IOptions {
    services: IPanelServices;
    pageSize?: number;
  }
}
