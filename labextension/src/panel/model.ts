import { type ISignal, Signal } from '@lumino/signaling';

import type { ISession, SessionScope } from '../models';
import type { IPanelMessage } from './actions';

/** Reload a list (null: the one shown); each request has a serial of its own. */
export interface IListRequest {
  readonly scope: SessionScope | null;
  readonly serial: number;
}

/**
 * What the panel's sections share: the selected session (its details show
 * below the lists), a notice from outside the lists (an invite being
 * joined), and requests to show and reload a list.
 */
export class PanelModel {
  /** The notice or the list request changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get selectionChanged(): ISignal<this, ISession | null> {
    return this._selectionChanged;
  }

  get selected(): ISession | null {
    return this._selected;
  }

  /** Select a session (null: none). Selecting it again asks to show it again. */
  select(session: ISession | null): void {
    this._selected = session;
    this._selectionChanged.emit(session);
  }

  get notice(): IPanelMessage | null {
    return this._notice;
  }

  set notice(value: IPanelMessage | null) {
    this._notice = value;
    this._changed.emit();
  }

  get listRequest(): IListRequest | null {
    return this._listRequest;
  }

  /** Show the `scope` list (null: the one shown), reloaded: it changed outside the lists. */
  showList(scope: SessionScope | null): void {
    const serial = (this._listRequest?.serial ?? 0) + 1;
    this._listRequest = { scope, serial };
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _selectionChanged = new Signal<this, ISession | null>(this);
  private _selected: ISession | null = null;
  private _notice: IPanelMessage | null = null;
  private _listRequest: IListRequest | null = null;
}
