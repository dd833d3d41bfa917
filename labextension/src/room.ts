import type { DocumentChange, YDocument } from '@jupyter/ydoc';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { type ISignal, Signal } from '@lumino/signaling';
import { WebsocketProvider } from 'y-websocket';

import {
  CLOSE_DELETED,
  CLOSE_REMOVED,
  handleControlMessages,
  isFinalClose,
  isKernelMessage,
  isReadOnlyMessage,
  isRoleMessage,
  kernelStatusOf
} from './control';
import { CodeCrafterError } from './errors';
import type {
  IKernelStatus,
  ISession,
  SessionKind,
  SessionRole
} from './models';
import type { ICodeCrafter, IControlMessage } from './tokens';

/** Why a room ended for this user; its documents close. */
export type RoomEnd = 'removed' | 'deleted' | 'signed-out';

export type RoomConnection = 'connecting' | 'connected' | 'disconnected';

const NO_KERNEL: IKernelStatus = {
  state: 'none',
  worker: null,
  started_at: null,
  last_activity_at: null
};
// The title and role are read again this often; the server announces neither
// a rename nor a role given while disconnected.
const REFRESH_MS = 60_000;

/**
 * One session document bound to its room: a y-websocket provider on the
 * shared model's Y.Doc and awareness, the session as the REST API describes
 * it, the user's role and the sandbox kernel's state, all kept current.
 */
export class SessionRoom implements IDisposable {
  constructor(options: SessionRoom.IOptions) {
    this.sessionId = options.sessionId;
    this.kind = options.kind;
    this.localPath = options.localPath;
    this.document = options.document;
    this._codecrafter = options.codecrafter;
    this._provider = new WebsocketProvider(
      this._codecrafter.client.roomsUrl,
      this.sessionId,
      this.document.ydoc,
      {
        // Nothing connects before a token is known (see _onAuth).
        connect: false,
        params: {},
        awareness: this.document.awareness,
        // Other tabs of this browser are other users' views as far as the
        // server is concerned: everything goes through the room.
        disableBc: true
      }
    );
    handleControlMessages(this._provider, m => {
      this._onControl(m);
    });
    this._provider.on('status', ({ status }) => {
      this._setConnection(status);
    });
    this._provider.on('sync', synced => {
      this._onSync(synced);
    });
    this._provider.on('connection-close', event => {
      this._onClose(event);
    });
    this.document.changed.connect(this._keepClean);
    this._codecrafter.auth.stateChanged.connect(this._onAuth);
    this._timer = setInterval(() => void this.refresh(), REFRESH_MS);
    // Do not report the ready promise's rejection as unhandled: ended says it.
    this._ready.promise.catch(() => undefined);
    this._onAuth();
  }

  readonly sessionId: string;
  readonly kind: SessionKind;
  /** The shared model (YNotebook or YFile) this room fills. */
  readonly document: YDocument<DocumentChange>;
  /** Where the document is on the drive; it moves when the session is renamed. */
  localPath: string;

  /** Resolves after the first sync and the session's details; rejects if it ended first. */
  get ready(): Promise<void> {
    return this._ready.promise;
  }

  /** The session as last read; null before the first answer. */
  get session(): ISession | null {
    return this._session;
  }

  /** The user's role; null while unknown or when they only see a public session. */
  get role(): SessionRole | null {
    return this._role;
  }

  get canWrite(): boolean {
    return this._role !== null && this._role !== 'read';
  }

  get connection(): RoomConnection {
    return this._connection;
  }

  get kernel(): IKernelStatus {
    return this._kernel;
  }

  /** Why the room ended, or null while it is open. */
  get end(): RoomEnd | null {
    return this._end;
  }

  /** The role, title, connection or kernel changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get controlMessage(): ISignal<this, IControlMessage> {
    return this._controlMessage;
  }

  /**
   * The server refused an edit made here (the user reads only): the local
   * document now differs from the room's and should be opened afresh.
   */
  get diverged(): ISignal<this, void> {
    return this._diverged;
  }

  /** Emitted once, when the user can no longer use this session. */
  get ended(): ISignal<this, RoomEnd> {
    return this._ended;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Read the session (title, role) and, for a notebook, its kernel again. */
  async refresh(): Promise<void> {
    if (this._end || !this._codecrafter.auth.accessToken) {
      return;
    }
    // A role the room announced while this request was under way is newer
    // than the role it answers with.
    const roleSeen = this._roleVersion;
    try {
      const { client } = this._codecrafter;
      const { session } = await client.getSession(this.sessionId);
      const kernel =
        this.kind === 'notebook' ? await client.kernel(this.sessionId) : null;
      this._session = session;
      if (roleSeen === this._roleVersion) {
        this._role = session.role;
      }
      this._kernel = kernel ?? this._kernel;
      this._changed.emit();
    } catch (error) {
      this._onRefreshError(error);
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    clearInterval(this._timer);
    this.document.changed.disconnect(this._keepClean);
    this._codecrafter.auth.stateChanged.disconnect(this._onAuth);
    this._provider.destroy();
    Signal.clearData(this);
  }

  private _onAuth = (sender?: unknown): void => {
    const token = this._codecrafter.auth.accessToken;
    if (this._codecrafter.auth.state.status === 'signed-in' && token) {
      // y-websocket reads params at each (re)connection: a renewed token is
      // used from the next one on.
      this._provider.params = { token };
      if (!this._started) {
        this._started = true;
        this._provider.connect();
      }
    } else if (sender !== undefined) {
      // Signed out, or the sign-in restored at page load did not come back.
      // Before either, a room opened with the page waits for the sign-in.
      this._finish('signed-out');
    }
  };

  private _onSync(synced: boolean): void {
    if (!synced) {
      return;
    }
    // Each (re)connection: the title or role may have changed meanwhile.
    void this.refresh().then(() => {
      if (this._session) {
        this._ready.resolve();
      }
    });
  }

  private _onControl(message: IControlMessage): void {
    if (isRoleMessage(message)) {
      this._role = message.role;
      this._roleVersion++;
      this._changed.emit();
    } else if (isKernelMessage(message)) {
      this._kernel = kernelStatusOf(message);
      this._changed.emit();
    } else if (isReadOnlyMessage(message)) {
      // The server dropped an edit of ours: we read only (whatever we
      // thought), and this copy of the document differs from the room's.
      if (this.canWrite) {
        this._role = 'read';
        this._roleVersion++;
        this._changed.emit();
        void this.refresh();
      }
      this._diverged.emit();
    }
    this._controlMessage.emit(message);
  }

  private _onClose(event: CloseEvent | null): void {
    const code = event?.code;
    if (code === CLOSE_REMOVED) {
      this._finish('removed');
    } else if (code === CLOSE_DELETED) {
      this._finish('deleted');
    } else if (isFinalClose(code)) {
      // Another refusal: ask the API what is left of our access.
      this._provider.disconnect();
      void this.refresh();
    }
  }

  private _onRefreshError(error: unknown): void {
    if (error instanceof CodeCrafterError && error.status === 404) {
      this._finish('deleted');
    } else if (error instanceof CodeCrafterError && error.status === 403) {
      this._finish('removed');
    } else {
      console.warn(`CodeCrafter: could not read session ${this.sessionId}`);
    }
  }

  private _setConnection(status: RoomConnection): void {
    if (this._connection !== status) {
      this._connection = status;
      this._changed.emit();
    }
  }

  private _keepClean = (): void => {
    // Everything typed is already in the room, so nothing is ever unsaved;
    // a dirty flag would only make closing the tab ask to save.
    if (this.document.dirty && this.canWrite) {
      this.document.dirty = false;
    }
  };

  private _finish(end: RoomEnd): void {
    if (this._end) {
      return;
    }
    this._end = end;
    this._provider.disconnect();
    this._ready.reject(new Error(`The session room ended: ${end}`));
    this._ended.emit(end);
  }

  private _codecrafter: ICodeCrafter;
  private _provider: WebsocketProvider;
  private _ready = new PromiseDelegate<void>();
  private _session: ISession | null = null;
  private _roleVersion = 0; // counts the roles the room announced
  private _role: SessionRole | null = null;
  private _kernel: IKernelStatus = NO_KERNEL;
  private _connection: RoomConnection = 'connecting';
  private _end: RoomEnd | null = null;
  private _started = false;
  private _timer: ReturnType<typeof setInterval>;
  private _changed = new Signal<this, void>(this);
  private _controlMessage = new Signal<this, IControlMessage>(this);
  private _ended = new Signal<this, RoomEnd>(this);
  private _diverged = new Signal<this, void>(this);
  private _isDisposed = false;
}

export namespace SessionRoom {
  export interface IOptions {
    sessionId: string;
    kind: SessionKind;
    localPath: string;
    document: YDocument<DocumentChange>;
    codecrafter: ICodeCrafter;
  }
}
