import { YFile, YNotebook } from '@jupyter/ydoc';
import type { DocumentChange, ISharedDocument, YDocument } from '@jupyter/ydoc';
import { PathExt } from '@jupyterlab/coreutils';
import type { Contents, ServerConnection } from '@jupyterlab/services';
import { type ISignal, Signal } from '@lumino/signaling';

import type { SessionKind } from './models';
import { DRIVE_NAME, kindOfPath, sessionIdOf, sessionIdOfLocal } from './paths';
import { SessionRoom } from './room';
import type { ICodeCrafter } from './tokens';

const READ_ONLY_DRIVE =
  'Sessions are created, renamed and deleted in the CodeCrafter panel.';

/**
 * The `CodeCrafter` drive: each session is one document, `<id>/<title>`,
 * whose shared model is bound to the session's room.
 *
 * The room holds the document and persists every change, so `get` answers
 * with no content (the Context then leaves the shared model as the room
 * filled it) and `save` has nothing to do. Being a drive of its own, it
 * never meets the content provider that jupyter-collaboration puts on the
 * default drive.
 */
export class SessionDrive implements Contents.IDrive {
  constructor(options: SessionDrive.IOptions) {
    this._codecrafter = options.codecrafter;
    this.serverSettings = options.serverSettings;
    this.sharedModelFactory = {
      collaborative: true,
      createNew: factoryOptions => this._createSharedModel(factoryOptions)
    };
  }

  readonly name = DRIVE_NAME;
  readonly serverSettings: ServerConnection.ISettings;
  readonly sharedModelFactory: Contents.ISharedFactory;

  get fileChanged(): ISignal<this, Contents.IChangedArgs> {
    return this._fileChanged;
  }

  /** A room was created for a document being opened. */
  get roomAdded(): ISignal<this, SessionRoom> {
    return this._roomAdded;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get rooms(): SessionRoom[] {
    return [...this._rooms];
  }

  /** The open rooms of a session (one per open document of it). */
  roomsOf(sessionId: string): SessionRoom[] {
    return [...this._rooms].filter(room => room.sessionId === sessionId);
  }

  /** The room a shared model is bound to, if it is one of ours. */
  roomOf(model: ISharedDocument): SessionRoom | null {
    return [...this._rooms].find(room => room.document === model) ?? null;
  }

  async get(
    localPath: string,
    options?: Contents.IFetchOptions
  ): Promise<Contents.IModel> {
    if (!localPath) {
      return directory();
    }
    const room = this._roomFor(localPath);
    if (options?.type && options.type !== contentType(room.kind)) {
      throw new Error(`Open “${localPath}” as a ${room.kind}.`);
    }
    if (options?.content !== false) {
      // The Context reads the document once, to populate it: wait until the
      // room filled the shared model. If the room ends first the tab closes
      // and nobody is waiting, so this never settles (a rejection would show
      // an error dialog for a tab that is gone).
      await room.ready.catch(() => new Promise<never>(() => undefined));
    }
    return this._model(room, localPath);
  }

  save(localPath: string): Promise<Contents.IModel> {
    // The room persists every change as it is made: saving is done already.
    return Promise.resolve(this._model(this._roomFor(localPath), localPath));
  }

  getDownloadUrl(): Promise<string> {
    return Promise.reject(
      new Error('Session documents live in their rooms, not in files.')
    );
  }

  newUntitled(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY_DRIVE));
  }

  delete(): Promise<void> {
    return Promise.reject(new Error(READ_ONLY_DRIVE));
  }

  rename(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY_DRIVE));
  }

  copy(): Promise<Contents.IModel> {
    return Promise.reject(new Error(READ_ONLY_DRIVE));
  }

  createCheckpoint(): Promise<Contents.ICheckpointModel> {
    return Promise.resolve({ id: 'room', last_modified: now() });
  }

  listCheckpoints(): Promise<Contents.ICheckpointModel[]> {
    return Promise.resolve([]);
  }

  restoreCheckpoint(): Promise<void> {
    return Promise.resolve();
  }

  deleteCheckpoint(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Tell the documents open at `oldLocalPath` that they are now at
   * `newLocalPath` (the session was renamed): their tabs follow.
   */
  moved(oldLocalPath: string, newLocalPath: string): void {
    const room = this._roomFor(newLocalPath);
    this._fileChanged.emit({
      type: 'rename',
      // Local paths: the contents manager adds the drive's name.
      oldValue: { path: oldLocalPath },
      newValue: this._model(room, newLocalPath)
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const room of this._rooms) {
      room.dispose();
    }
    this._rooms.clear();
    Signal.clearData(this);
  }

  private _createSharedModel(
    options: Contents.ISharedFactoryOptions
  ): ISharedDocument | undefined {
    const sessionId = sessionIdOf(options.path);
    const kind = kindOfPath(options.path);
    if (!sessionId || options.contentType !== contentType(kind)) {
      return undefined;
    }
    // The constructors, not `create`: create writes a blank notebook into
    // the Y.Doc, which the first sync would merge into the room's document
    // (its metadata over the real one's) or, for a reader, have refused.
    const document: YDocument<DocumentChange> =
      kind === 'notebook'
        ? // JupyterLab's default: each cell has its own undo history.
          new YNotebook({ disableDocumentWideUndoRedo: true })
        : new YFile();
    const room = new SessionRoom({
      sessionId,
      kind,
      localPath: options.path.slice(DRIVE_NAME.length + 1),
      document,
      codecrafter: this._codecrafter
    });
    this._rooms.add(room);
    document.disposed.connect(() => {
      this._rooms.delete(room);
      room.dispose();
    });
    this._roomAdded.emit(room);
    return document;
  }

  private _roomFor(localPath: string): SessionRoom {
    const sessionId = sessionIdOfLocal(localPath);
    // The newest: a document being opened asks right after its room is made.
    const room = sessionId ? this.roomsOf(sessionId).at(-1) : undefined;
    if (!room) {
      throw new Error(`“${localPath}” is not an open CodeCrafter session.`);
    }
    return room;
  }

  private _model(room: SessionRoom, path: string): Contents.IModel {
    const session = room.session;
    // A fixed date: the Context compares dates to detect changes on disk.
    const created = session?.created_at ?? EPOCH;
    return {
      name: PathExt.basename(path),
      path,
      type: contentType(room.kind),
      writable: room.canWrite,
      created,
      last_modified: created,
      mimetype:
        room.kind === 'notebook' ? 'application/x-ipynb+json' : 'text/plain',
      content: null,
      format: room.kind === 'notebook' ? 'json' : 'text'
    };
  }

  private _codecrafter: ICodeCrafter;
  private _rooms = new Set<SessionRoom>();
  private _fileChanged = new Signal<this, Contents.IChangedArgs>(this);
  private _roomAdded = new Signal<this, SessionRoom>(this);
  private _isDisposed = false;
}

export namespace SessionDrive {
  export interface IOptions {
    codecrafter: ICodeCrafter;
    serverSettings: ServerConnection.ISettings;
  }
}

const EPOCH = new Date(0).toISOString();

function contentType(kind: SessionKind): Contents.ContentType {
  return kind === 'notebook' ? 'notebook' : 'file';
}

function directory(): Contents.IModel {
  return {
    name: '',
    path: '',
    type: 'directory',
    writable: false,
    created: EPOCH,
    last_modified: EPOCH,
    mimetype: '',
    content: [],
    format: 'json'
  };
}

function now(): string {
  return new Date().toISOString();
}
