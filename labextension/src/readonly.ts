/**
 * How a session document looks for its user's role and its room's
 * connection: readers get read-only editors, no Run or editing buttons and a
 * marker saying why; everyone sees when the room is reconnecting.
 */
import type { Cell } from '@jupyterlab/cells';
import type { CodeEditor } from '@jupyterlab/codeeditor';
import type { DocumentWidget } from '@jupyterlab/docregistry';
import type { Notebook } from '@jupyterlab/notebook';
import type { Toolbar } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import type { RoomConnection } from './room';
import { READ_ONLY_TEXT } from './texts';

const CONNECTING_TEXT = 'Connecting to the session…';
const RECONNECTING_TEXT =
  'Connection lost: reconnecting. Edits made meanwhile are kept and sent on reconnection.';

/** The toolbar item's name, for toolbar customizations and tests. */
export const STATUS_ITEM = 'codecrafter-status';
/**
 * On the document widget's node while it is read-only; documents.css hides
 * the toolbar buttons only writers can use under it (a class, because
 * command buttons rewrite their own classes whenever their command changes).
 */
export const READ_ONLY_CLASS = 'jp-CodeCrafter-mod-readOnly';

/** The marker and connection state shown in a session document's toolbar. */
export class SessionStatus extends Widget {
  constructor() {
    super();
    this.addClass('jp-CodeCrafter-status');
    this._marker = createMarker();
    this._connection = document.createElement('span');
    this._connection.className = 'jp-CodeCrafter-connection';
    this._connection.setAttribute('role', 'status');
    this._connection.setAttribute('aria-live', 'polite');
    this.node.append(this._marker, this._connection);
    this.render(false, 'connected');
  }

  render(readOnly: boolean, connection: RoomConnection): void {
    this._marker.hidden = !readOnly;
    const reconnecting = this._wasConnected;
    this._wasConnected ||= connection === 'connected';
    this._connection.hidden = connection === 'connected';
    this._connection.textContent = reconnecting
      ? 'Reconnecting…'
      : 'Connecting…';
    this._connection.title = reconnecting ? RECONNECTING_TEXT : CONNECTING_TEXT;
    this._connection.dataset.state = connection;
  }

  private _marker: HTMLElement;
  private _connection: HTMLElement;
  private _wasConnected = false;
}

/** Add the status item to a document's toolbar, before the kernel items. */
export function addStatusItem(toolbar: Toolbar, item: SessionStatus): void {
  if (!toolbar.insertAfter('spacer', STATUS_ITEM, item)) {
    toolbar.addItem(STATUS_ITEM, item);
  }
}

/**
 * Lock or unlock every cell of a notebook. A locked cell's editor is read
 * only; unlocking gives each cell back the editable state its metadata says.
 */
export function setNotebookReadOnly(
  notebook: Notebook,
  readOnly: boolean
): void {
  for (const cell of notebook.widgets) {
    setCellReadOnly(cell, readOnly);
  }
}

function setCellReadOnly(cell: Cell, readOnly: boolean): void {
  if (readOnly) {
    // Syncing would write `editable: false` into the shared cell: a reader's
    // edit the room drops, and not the author's wish anyway.
    cell.syncEditable = false;
    cell.readOnly = true;
  } else if (!cell.syncEditable) {
    // Loads the cell's own editable state from its metadata.
    cell.syncEditable = true;
  }
}

/** Lock or unlock a file editor. */
export function setEditorReadOnly(
  widget: DocumentWidget,
  readOnly: boolean
): void {
  const editor = (widget.content as { editor?: CodeEditor.IEditor }).editor;
  editor?.setOption('readOnly', readOnly);
}

function createMarker(): HTMLElement {
  const marker = document.createElement('span');
  marker.className = 'jp-CodeCrafter-readOnlyMarker';
  marker.setAttribute('role', 'note');
  marker.setAttribute('aria-label', READ_ONLY_TEXT);
  marker.title = READ_ONLY_TEXT;
  const label = document.createElement('strong');
  label.textContent = 'Read only:';
  marker.append(label, ' you can view and follow, not edit or run');
  return marker;
}
