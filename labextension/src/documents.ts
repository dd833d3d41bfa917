import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IToolbarWidgetRegistry, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IEditorExtensionRegistry } from '@jupyterlab/codemirror';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { type DocumentRegistry, DocumentWidget } from '@jupyterlab/docregistry';
import { INotebookWidgetFactory, NotebookPanel } from '@jupyterlab/notebook';
import { type ISignal, Signal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

import { SessionWidgetController } from './controller';
import { registerRemoteCursors } from './cursors';
import { SessionDrive } from './drive';
import {
  installSandboxKernel,
  type ISandboxKernelOptions,
  NOTEBOOK_FACTORY,
  wrapKernelToolbarItems
} from './kernel';
import type { IKernelStatus, SessionRole } from './models';
import {
  EDITOR_FACTORY,
  registerOpenCommand,
  reopenSessionOfUrl
} from './open';
import { OPEN_SESSION_COMMAND } from './panel/actions';
import { sessionIdOf, sessionLocalPath } from './paths';
import type { RoomEnd, SessionRoom } from './room';
import { READ_ONLY_TEXT } from './texts';
import {
  ICodeCrafter,
  type IControlMessage,
  ISessionDocuments
} from './tokens';

/**
 * The session documents open in this page: the rooms the drive made for
 * them, and a controller for each of their tabs.
 */
export class SessionDocuments implements ISessionDocuments {
  constructor(drive: SessionDrive, reopen: (sessionId: string) => void) {
    this.drive = drive;
    this._reopen = reopen;
    drive.roomAdded.connect((_, room) => {
      this._watch(room);
    });
  }

  readonly drive: SessionDrive;

  get controlMessage(): ISignal<this, ISessionDocuments.IControlArgs> {
    return this._controlMessage;
  }

  isSessionPath(path: string): boolean {
    return sessionIdOf(path) !== null;
  }

  sessionIdOf(path: string): string | null {
    return sessionIdOf(path);
  }

  kernelStatus(sessionId: string): IKernelStatus | null {
    const room = this._roomsOf(sessionId).find(r => r.kind === 'notebook');
    return room?.kernel ?? null;
  }

  /** The user's role in an open session; null when unknown or not open. */
  role(sessionId: string): SessionRole | null {
    return this._roomsOf(sessionId)[0]?.role ?? null;
  }

  /** The open tabs of a session. */
  widgetsOf(sessionId: string): DocumentWidget[] {
    return [...this._controllers]
      .filter(c => c.room.sessionId === sessionId)
      .map(c => c.widget);
  }

  /**
   * Read a session's title and role again when its tab comes to the front:
   * the server announces neither a rename nor everything that changed while
   * the tab was away.
   */
  refreshShown(widget: Widget | null): void {
    const controller = [...this._controllers].find(c => c.widget === widget);
    void controller?.room.refresh();
  }

  /** Bind a document tab to its room, if it is a session document. */
  attach(
    widget: DocumentWidget,
    context: DocumentRegistry.IContext<DocumentRegistry.IModel>
  ): void {
    const room = this.drive.roomOf(context.model.sharedModel);
    if (!room) {
      return;
    }
    const controller = new SessionWidgetController(widget, room);
    this._controllers.add(controller);
    widget.disposed.connect(() => this._controllers.delete(controller));
  }

  private _roomsOf(sessionId: string): SessionRoom[] {
    return this.drive.roomsOf(sessionId).filter(room => !room.end);
  }

  private _watch(room: SessionRoom): void {
    room.controlMessage.connect((_, message: IControlMessage) => {
      this._controlMessage.emit({ sessionId: room.sessionId, message });
    });
    room.changed.connect(() => {
      this._follow(room);
    });
    room.ended.connect((_, end) => {
      notifyEnd(room, end);
    });
    room.diverged.connect(() => {
      this._resync(room);
    });
  }

  /**
   * A reader's edit was refused (a keyboard shortcut in command mode, a
   * paste): open the document afresh, so that it shows the room's again.
   */
  private _resync(room: SessionRoom): void {
    const last = this._resynced.get(room.sessionId) ?? 0;
    if (Date.now() - last < RESYNC_GAP_MS) {
      return; // Never in a loop, whatever keeps editing.
    }
    this._resynced.set(room.sessionId, Date.now());
    Notification.warning(`${READ_ONLY_TEXT}: your change was undone.`, {
      autoClose: 5000
    });
    for (const widget of this.widgetsOf(room.sessionId)) {
      widget.dispose();
    }
    this._reopen(room.sessionId);
  }

  /** A renamed session: move its document, so that its tab shows the title. */
  private _follow(room: SessionRoom): void {
    const session = room.session;
    if (!session || room.end) {
      return;
    }
    const path = sessionLocalPath(room.sessionId, session);
    if (room.localPath !== path) {
      const old = room.localPath;
      room.localPath = path;
      this.drive.moved(old, path);
    }
  }

  private _reopen: (sessionId: string) => void;
  private _resynced = new Map<string, number>();
  private _controllers = new Set<SessionWidgetController>();
  private _controlMessage = new Signal<this, ISessionDocuments.IControlArgs>(
    this
  );
}

/** The CodeCrafter drive, the open command, and session tabs kept live. */
export const documentsPlugin: JupyterFrontEndPlugin<ISessionDocuments> = {
  id: 'jupyter-codecrafter:documents',
  description:
    'Opens CodeCrafter sessions as notebooks and files bound to their rooms.',
  autoStart: true,
  provides: ISessionDocuments,
  // The notebook widget factory plugin registers the toolbar items wrapped here.
  requires: [
    ICodeCrafter,
    IDocumentManager,
    IToolbarWidgetRegistry,
    INotebookWidgetFactory
  ],
  optional: [IEditorExtensionRegistry],
  activate: (
    app: JupyterFrontEnd,
    codecrafter: ICodeCrafter,
    docManager: IDocumentManager,
    toolbars: IToolbarWidgetRegistry,
    _notebookFactory: unknown,
    editorExtensions: IEditorExtensionRegistry | null
  ): ISessionDocuments => {
    const services = app.serviceManager;
    const drive = new SessionDrive({
      codecrafter,
      serverSettings: services.serverSettings
    });
    services.contents.addDrive(drive);
    const documents = new SessionDocuments(drive, id => {
      void app.commands.execute(OPEN_SESSION_COMMAND, { id });
    });

    const kernelOptions: ISandboxKernelOptions = {
      client: codecrafter.client,
      auth: codecrafter.auth,
      services,
      roomOf: context => drive.roomOf(context.model.sharedModel)
    };
    wrapKernelToolbarItems(toolbars, kernelOptions);
    app.docRegistry.addWidgetExtension(NOTEBOOK_FACTORY, {
      createNew: (panel, context) => {
        if (panel instanceof NotebookPanel) {
          installSandboxKernel(panel, kernelOptions);
          documents.attach(panel, context);
        }
      }
    });
    app.docRegistry.addWidgetExtension(EDITOR_FACTORY, {
      createNew: (widget, context) => {
        if (widget instanceof DocumentWidget) {
          documents.attach(widget as DocumentWidget, context);
        }
      }
    });
    if (editorExtensions) {
      registerRemoteCursors(editorExtensions, doc =>
        drive.rooms.some(room => room.document === doc)
      );
    }
    registerOpenCommand({ app, codecrafter, docManager, documents });
    reopenSessionOfUrl(app, codecrafter);
    app.shell.currentChanged?.connect((_, { newValue }) => {
      documents.refreshShown(newValue);
    });
    return documents;
  }
};

const RESYNC_GAP_MS = 10_000;

// One notification per session and ending, even with several of its tabs open.
const notified = new Map<string, number>();

function notifyEnd(room: SessionRoom, end: RoomEnd): void {
  if (end === 'signed-out') {
    return; // The user's own doing: the tabs just close.
  }
  const key = `${room.sessionId}:${end}`;
  const last = notified.get(key) ?? 0;
  if (Date.now() - last < 10_000) {
    return;
  }
  notified.set(key, Date.now());
  // Before the room first answered, the document's name holds the title.
  const name = PathExt.basename(room.localPath);
  const fallback = name.slice(0, name.length - PathExt.extname(name).length);
  const title = `“${room.session?.title ?? fallback}”`;
  Notification.warning(
    end === 'removed'
      ? `Your access to ${title} was removed`
      : `${title} was deleted`,
    { autoClose: false }
  );
}
