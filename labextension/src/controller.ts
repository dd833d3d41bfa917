import type { DocumentWidget } from '@jupyterlab/docregistry';
import { Notebook } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';

import {
  addStatusItem,
  READ_ONLY_CLASS,
  SessionStatus,
  setEditorReadOnly,
  setNotebookReadOnly
} from './readonly';
import type { SessionRoom } from './room';

/**
 * Keeps one session document's tab in step with its room: read-only for
 * readers (and back when promoted), the connection state, the sandbox
 * kernel's state as a data attribute, and the tab closed when the room ends.
 */
export class SessionWidgetController implements IDisposable {
  constructor(widget: DocumentWidget, room: SessionRoom) {
    this.widget = widget;
    this.room = room;
    this._notebook = widget.content instanceof Notebook ? widget.content : null;
    widget.addClass('jp-CodeCrafter-session');
    widget.node.dataset.codecrafterSession = room.sessionId;
    addStatusItem(widget.toolbar, this._status);
    room.changed.connect(this._update);
    room.ended.connect(this._close);
    this._notebook?.model?.cells.changed.connect(this._update);
    widget.disposed.connect(() => {
      this.dispose();
    });
    if (room.end) {
      this._close();
    } else {
      this._update();
    }
  }

  readonly widget: DocumentWidget;
  readonly room: SessionRoom;

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.room.changed.disconnect(this._update);
    this.room.ended.disconnect(this._close);
    this._notebook?.model?.cells.changed.disconnect(this._update);
    this._status.dispose();
  }

  private _update = (): void => {
    const room = this.room;
    // Until the role is known (and for a public session one has no role
    // in), the document is read-only: nobody types into a void.
    const readOnly = !room.canWrite;
    const { widget } = this;
    widget.toggleClass(READ_ONLY_CLASS, readOnly);
    widget.node.dataset.codecrafterRole = room.role ?? 'none';
    // The marker says why once the role is known; editors wait locked.
    this._status.render(readOnly && room.session !== null, room.connection);
    if (this._notebook) {
      setNotebookReadOnly(this._notebook, readOnly);
      widget.node.dataset.codecrafterKernel = room.kernel.state;
    } else {
      setEditorReadOnly(widget, readOnly);
    }
  };

  private _close = (): void => {
    // dispose, not close: nothing is unsaved and no dialog may ask.
    this.widget.dispose();
  };

  private _notebook: Notebook | null;
  private _status = new SessionStatus();
  private _isDisposed = false;
}
