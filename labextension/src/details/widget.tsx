import {
  closeIcon,
  ReactWidget,
  refreshIcon,
  Toolbar,
  ToolbarButton,
  UseSignal
} from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import React from 'react';

import type { ISession, IUser } from '../models';
import type { ICodeCrafter, ISessionDocuments } from '../tokens';
import { type IDetailsState, SessionDetailsModel } from './model';
import { DetailsView } from './view';

export const DETAILS_ID = 'jp-CodeCrafter-details';

/**
 * The "Session details" section of the CodeCrafter sidebar. It owns the model
 * of the session shown, and tells it when the section is visible: it
 * refreshes only then (not while the sidebar is collapsed, another sidebar
 * tab is shown, or the section is folded).
 */
export class SessionDetailsWidget extends ReactWidget {
  constructor(options: SessionDetailsWidget.IOptions) {
    super();
    this._codecrafter = options.codecrafter;
    this._documents = options.documents ?? null;
    this._onAccessChanged = options.onAccessChanged;
    this.id = DETAILS_ID;
    this.addClass('jp-CodeCrafter-section');
    this.title.label = 'Session details';
    this.title.caption = 'Collaborators, invites, who is online, kernel, runs';
    // An accordion section's toolbar shows in its title bar.
    this.toolbar = new Toolbar();
    this.toolbar.addItem(
      'refresh',
      new ToolbarButton({
        icon: refreshIcon,
        tooltip: 'Refresh the session details',
        dataset: { testid: 'codecrafter-details-refresh' },
        onClick: () => this._model?.refresh()
      })
    );
    this.toolbar.addItem(
      'close',
      new ToolbarButton({
        icon: closeIcon,
        tooltip: 'Close the session details',
        dataset: { testid: 'codecrafter-details-close' },
        onClick: options.onClose
      })
    );
  }

  readonly toolbar: Toolbar;

  get model(): SessionDetailsModel | null {
    return this._model;
  }

  /** Show `session` for `user`; null shows nothing and stops refreshing. */
  showSession(session: ISession | null, user: IUser | null): void {
    if (session?.id === this._model?.sessionId && session !== null) {
      this._model?.refresh();
      return;
    }
    this._model?.dispose();
    this._model = null;
    if (session !== null && user !== null) {
      this._model = new SessionDetailsModel({
        codecrafter: this._codecrafter,
        documents: this._documents,
        user,
        session
      });
      this._model.visible = this.isVisible;
      this._model.accessChanged.connect(this._onAccessChanged);
    }
    this.update();
  }

  dispose(): void {
    this._model?.dispose();
    this._model = null;
    super.dispose();
  }

  protected render(): React.JSX.Element {
    const model = this._model;
    if (model === null) {
      return (
        <p className="jp-CodeCrafter-empty">
          Choose Details on a session to see it here.
        </p>
      );
    }
    return (
      <UseSignal<SessionDetailsModel, IDetailsState>
        // A new session starts from its own state.
        key={model.sessionId}
        signal={model.changed}
        initialArgs={model.state}
      >
        {(_, state) => (
          <DetailsView model={model} state={state ?? model.state} />
        )}
      </UseSignal>
    );
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._setVisible();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._setVisible();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this._setVisible();
  }

  protected onAfterDetach(msg: Message): void {
    super.onAfterDetach(msg);
    this._setVisible();
  }

  private _setVisible(): void {
    if (this._model) {
      this._model.visible = this.isVisible;
    }
  }

  private _codecrafter: ICodeCrafter;
  private _documents: ISessionDocuments | null;
  private _onAccessChanged: () => void;
  private _model: SessionDetailsModel | null = null;
}

export namespace SessionDetailsWidget {
  export interface IOptions {
    codecrafter: ICodeCrafter;
    /** Control messages of open session rooms, for instant updates. */
    documents?: ISessionDocuments | null;
    /** The close button of the section's title bar. */
    onClose: () => void;
    /** Your role on the session shown changed, or you lost access to it. */
    onAccessChanged: () => void;
  }
}
