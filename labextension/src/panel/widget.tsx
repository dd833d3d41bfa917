import { ReactWidget, SidePanel } from '@jupyterlab/ui-components';
import { AccordionPanel } from '@lumino/widgets';
import React from 'react';

import type { AuthManager, AuthState } from '../auth';
import { SessionDetailsWidget } from '../details/widget';
import { codecrafterIcon } from '../icons';
import type { ISession } from '../models';
import { PanelModel } from './model';
import type { IPanelServices } from './services';
import { SessionsView } from './sessions';
import { SignInView } from './signin';

export const PANEL_ID = 'jp-CodeCrafter-panel';

/** How the sidebar's height is shared when the details section opens. */
const SECTION_SIZES = [0.4, 0.6];

/**
 * The CodeCrafter sidebar, sections in an accordion as JupyterLab's own
 * sidebars have them: sign-in or the session lists, then the selected
 * session's details once one is selected.
 */
export class CodeCrafterPanel extends SidePanel {
  constructor(options: CodeCrafterPanel.IOptions) {
    super();
    this.id = PANEL_ID;
    this.addClass('jp-CodeCrafter-panel');
    this.title.icon = codecrafterIcon;
    this.title.caption = 'CodeCrafter';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'CodeCrafter');
    const { services } = options;
    this._auth = services.codecrafter.auth;
    this._sessions = new SessionsSection({
      services,
      model: this.model,
      pageSize: options.pageSize ?? 20
    });
    this._details = new SessionDetailsWidget({
      codecrafter: services.codecrafter,
      documents: services.documents,
      onClose: () => {
        this.model.select(null);
      },
      // The lists show your role on each session.
      onAccessChanged: () => {
        this.model.showList(null);
      }
    });
    this.addWidget(this._sessions);
    this.model.selectionChanged.connect(this._showSelected);
    this._auth.stateChanged.connect(this._onAuth);
  }

  /** The selection, notices and list requests the sections share. */
  readonly model = new PanelModel();

  /** How many sessions each list loads at a time. */
  get pageSize(): number {
    return this._sessions.pageSize;
  }

  set pageSize(value: number) {
    this._sessions.pageSize = value;
  }

  dispose(): void {
    this._details.dispose();
    super.dispose();
  }

  private _onAuth = (_: AuthManager, state: AuthState): void => {
    const userId = state.status === 'signed-in' ? state.user.id : null;
    // Signing out, or in as someone else, forgets the selection; a renewal keeps it.
    if (userId !== this._userId) {
      this._userId = userId;
      this.model.select(null);
    }
  };

  private _showSelected = (_: PanelModel, session: ISession | null): void => {
    const user = this._auth.user;
    this._details.showSession(user ? session : null, user);
    if (session === null || user === null) {
      if (this._details.parent) {
        this._details.parent = null;
      }
      return;
    }
    const adding = !this._details.parent;
    if (adding) {
      this.addWidget(this._details);
    }
    // SidePanel's content is an accordion unless another content is given.
    const accordion = this.content;
    if (accordion instanceof AccordionPanel) {
      if (adding) {
        accordion.setRelativeSizes(SECTION_SIZES);
      }
      accordion.expand(accordion.widgets.indexOf(this._details));
    }
  };

  private _auth: AuthManager;
  private _sessions: SessionsSection;
  private _details: SessionDetailsWidget;
  private _userId: string | null = null;
}

export namespace CodeCrafterPanel {
  export interface IOptions {
    services: IPanelServices;
    pageSize?: number;
  }
}

/** The first section: the sign-in forms, then who you are and the session lists. */
class SessionsSection extends ReactWidget {
  constructor(options: {
    services: IPanelServices;
    model: PanelModel;
    pageSize: number;
  }) {
    super();
    this._services = options.services;
    this._model = options.model;
    this._pageSize = options.pageSize;
    this.id = 'jp-CodeCrafter-sessions';
    this.addClass('jp-CodeCrafter-section');
    const auth = this._services.codecrafter.auth;
    this._setTitle(auth.state);
    auth.stateChanged.connect((_, state) => {
      this._setTitle(state);
      this.update();
    });
    this._model.changed.connect(() => {
      this.update();
    });
    this._model.selectionChanged.connect(() => {
      this.update();
    });
  }

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
    const state = auth.state;
    if (state.status === 'signed-out') {
      return (
        <SignInView
          auth={auth}
          reason={state.reason}
          notice={this._model.notice}
        />
      );
    }
    return (
      <SessionsView
        // A different user starts from a clean view; a renewal keeps it.
        key={state.user.id}
        services={this._services}
        panel={this._model}
        user={state.user}
        pageSize={this._pageSize}
      />
    );
  }

  private _setTitle(state: AuthState): void {
    this.title.label = state.status === 'signed-in' ? 'Sessions' : 'Sign in';
  }

  private _services: IPanelServices;
  private _model: PanelModel;
  private _pageSize: number;
}
