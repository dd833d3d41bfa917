/**
 * The session context of a session notebook: its one kernel is a connection
 * to the session's sandbox kernel (kernelchannel.ts), and its status is the
 * sandbox kernel's as the room tells it. Nothing here starts, changes or
 * shuts down a kernel on the Jupyter host.
 */
import type { ISessionContext } from '@jupyterlab/apputils';
import type { IChangedArgs } from '@jupyterlab/coreutils';
import type {
  Kernel,
  KernelMessage,
  KernelSpec,
  ServerConnection,
  Session
} from '@jupyterlab/services';
import { type ISignal, Signal } from '@lumino/signaling';

import type { IKernelStatus } from './models';
import type { RoomConnection } from './room';
import { NO_KERNEL_CHANGE } from './texts';

/** What the session context needs from the session's room. */
export interface IKernelSource {
  readonly sessionId: string;
  readonly kernel: IKernelStatus;
  readonly connection: RoomConnection;
  readonly changed: ISignal<unknown, void>;
}

/** The Jupyter status a sandbox kernel state shows as. */
export function kernelStatusOf(state: IKernelStatus['state']): Kernel.Status {
  // "none": no kernel yet, one starts with the first run.
  return state === 'none' ? 'unknown' : state;
}

/**
 * The sandbox kernel's status: a restart asked here (the connection knows),
 * else its state as the room tells it (the connection's own status would
 * say idle before the first run started any kernel).
 */
export function sandboxStatus(
  state: IKernelStatus['state'],
  connectionStatus: Kernel.Status
): Kernel.Status {
  return connectionStatus === 'restarting' ||
    connectionStatus === 'autorestarting'
    ? connectionStatus
    : kernelStatusOf(state);
}

/**
 * Whether the room's news means the kernel process was replaced (a restart,
 * whoever asked for it, or a new kernel after one died): the widgets and
 * comms of the old one are gone.
 */
export function kernelReplaced(
  before: Pick<IKernelStatus, 'started_at'>,
  after: Pick<IKernelStatus, 'started_at'>
): boolean {
  return before.started_at !== null && after.started_at !== before.started_at;
}

/** What the toolbar and status bar show: the room's connection while it is away. */
export function displayStatus(
  source: Pick<IKernelSource, 'kernel' | 'connection'>,
  connectionStatus: Kernel.Status
): ISessionContext.KernelDisplayStatus {
  return source.connection === 'connected'
    ? sandboxStatus(source.kernel.state, connectionStatus)
    : source.connection;
}

type SessionArgs = IChangedArgs<
  Session.ISessionConnection | null,
  Session.ISessionConnection | null,
  'session'
>;
type KernelArgs = IChangedArgs<
  Kernel.IKernelConnection | null,
  Kernel.IKernelConnection | null,
  'kernel'
>;
type Property = 'path' | 'name' | 'type';

/** The notebook's "session", holding the sandbox kernel's connection. */
export class SandboxSession implements Session.ISessionConnection {
  constructor(options: SandboxSession.IOptions) {
    this.kernel = options.kernel;
    this.serverSettings = options.serverSettings;
    this.id = this.kernel.id;
    this.path = options.path;
    this.name = options.name;
    const kernel = this.kernel;
    kernel.statusChanged.connect((_, status) => {
      this._statusChanged.emit(status);
    });
    kernel.connectionStatusChanged.connect((_, status) => {
      this._connectionStatusChanged.emit(status);
    });
    kernel.iopubMessage.connect((_, msg) => {
      this._iopubMessage.emit(msg);
    });
    kernel.unhandledMessage.connect((_, msg) => {
      this._unhandledMessage.emit(msg);
    });
    kernel.anyMessage.connect((_, args) => {
      this._anyMessage.emit(args);
    });
    kernel.pendingInput.connect((_, pending) => {
      this._pendingInput.emit(pending);
    });
  }

  readonly id: string;
  readonly kernel: Kernel.IKernelConnection;
  readonly serverSettings: ServerConnection.ISettings;
  readonly type = 'notebook';
  path: string;
  name: string;

  get model(): Session.IModel {
    const { id, path, name, type } = this;
    return { id, path, name, type, kernel: this.kernel.model };
  }

  get kernelChanged(): ISignal<this, KernelArgs> {
    return this._kernelChanged;
  }
  get statusChanged(): ISignal<this, Kernel.Status> {
    return this._statusChanged;
  }
  get connectionStatusChanged(): ISignal<this, Kernel.ConnectionStatus> {
    return this._connectionStatusChanged;
  }
  get pendingInput(): ISignal<this, boolean> {
    return this._pendingInput;
  }
  get iopubMessage(): ISignal<this, KernelMessage.IIOPubMessage> {
    return this._iopubMessage;
  }
  get unhandledMessage(): ISignal<this, KernelMessage.IMessage> {
    return this._unhandledMessage;
  }
  get anyMessage(): ISignal<this, Kernel.IAnyMessageArgs> {
    return this._anyMessage;
  }
  get propertyChanged(): ISignal<this, Property> {
    return this._propertyChanged;
  }
  get disposed(): ISignal<this, void> {
    return this._disposed;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  setPath(path: string): Promise<void> {
    this.path = path;
    this._propertyChanged.emit('path');
    return Promise.resolve();
  }

  setName(name: string): Promise<void> {
    this.name = name;
    this._propertyChanged.emit('name');
    return Promise.resolve();
  }

  setType(): Promise<void> {
    return Promise.resolve();
  }

  changeKernel(): Promise<Kernel.IKernelConnection | null> {
    return Promise.reject(new Error(NO_KERNEL_CHANGE));
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.kernel.dispose();
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _kernelChanged = new Signal<this, KernelArgs>(this);
  private _statusChanged = new Signal<this, Kernel.Status>(this);
  private _connectionStatusChanged = new Signal<this, Kernel.ConnectionStatus>(
    this
  );
  private _pendingInput = new Signal<this, boolean>(this);
  private _iopubMessage = new Signal<this, KernelMessage.IIOPubMessage>(this);
  private _unhandledMessage = new Signal<this, KernelMessage.IMessage>(this);
  private _anyMessage = new Signal<this, Kernel.IAnyMessageArgs>(this);
  private _propertyChanged = new Signal<this, Property>(this);
  private _disposed = new Signal<this, void>(this);
  private _isDisposed = false;
}

export namespace SandboxSession {
  export interface IOptions {
    kernel: Kernel.IKernelConnection;
    serverSettings: ServerConnection.ISettings;
    path: string;
    name: string;
  }
}

/**
 * An ISessionContext whose session exists from the start and never changes:
 * the toolbar's kernel name and status, the status bar and the Kernel menu
 * read the sandbox kernel through it.
 */
export class SandboxSessionContext implements ISessionContext {
  constructor(options: SandboxSessionContext.IOptions) {
    this.session = options.session;
    this.sessionManager = options.sessionManager;
    this.specsManager = options.specsManager;
    this.kernelManager = options.kernelManager;
    this._source = options.source;
    this._onNoKernelChange = options.onNoKernelChange;
    this._status = this.kernelDisplayStatus;
    this._startedAt = this._source.kernel.started_at;
    const kernel = this.session.kernel;
    // A replaced kernel says "restarting" before the room's new state.
    this._source.changed.connect(this._onSourceChanged);
    this._source.changed.connect(this._onStatus);
    kernel.statusChanged.connect(this._onStatus);
    kernel.connectionStatusChanged.connect((_, status) => {
      this._connectionStatusChanged.emit(status);
    });
    kernel.iopubMessage.connect((_, msg) => {
      this._iopubMessage.emit(msg);
    });
    kernel.unhandledMessage.connect((_, msg) => {
      this._unhandledMessage.emit(msg);
    });
  }

  readonly session: SandboxSession;
  readonly sessionManager: Session.IManager;
  readonly specsManager: KernelSpec.IManager;
  readonly kernelManager?: Kernel.IManager;
  readonly isReady = true;
  readonly isTerminating = false;
  readonly hasNoKernel = false;
  readonly ready = Promise.resolve();
  readonly type = 'notebook';

  // Never started, so never shut down when the tab closes.
  kernelPreference: ISessionContext.IKernelPreference = {
    shouldStart: false,
    canStart: false,
    shutdownOnDispose: false
  };

  get path(): string {
    return this.session.path;
  }
  get name(): string {
    return this.session.name;
  }
  get prevKernelName(): string {
    return this.session.kernel.name;
  }
  get pendingInput(): boolean {
    return this.session.kernel.hasPendingInput;
  }
  get isRestarting(): boolean {
    return this.session.kernel.status === 'restarting';
  }
  get kernelDisplayName(): string {
    return this.session.kernel.name;
  }

  get kernelDisplayStatus(): ISessionContext.KernelDisplayStatus {
    return displayStatus(this._source, this.session.kernel.status);
  }

  get sessionChanged(): ISignal<this, SessionArgs> {
    return this._sessionChanged;
  }
  get kernelChanged(): ISignal<this, KernelArgs> {
    return this._kernelChanged;
  }
  get kernelPreferenceChanged(): ISignal<
    this,
    IChangedArgs<ISessionContext.IKernelPreference>
  > {
    return this._kernelPreferenceChanged;
  }
  get statusChanged(): ISignal<this, Kernel.Status> {
    return this._statusChanged;
  }
  get connectionStatusChanged(): ISignal<this, Kernel.ConnectionStatus> {
    return this._connectionStatusChanged;
  }
  get iopubMessage(): ISignal<this, KernelMessage.IMessage> {
    return this._iopubMessage;
  }
  get unhandledMessage(): ISignal<this, KernelMessage.IMessage> {
    return this._unhandledMessage;
  }
  get propertyChanged(): ISignal<this, Property> {
    return this._propertyChanged;
  }
  get disposed(): ISignal<this, void> {
    return this._disposed;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** The document moved (the session was renamed). */
  setPath(path: string, name: string): void {
    void this.session.setPath(path);
    void this.session.setName(name);
    this._propertyChanged.emit('path');
  }

  initialize(): Promise<boolean> {
    // Nothing to start: never ask the user to select a kernel.
    return Promise.resolve(false);
  }

  startKernel(): Promise<boolean> {
    return Promise.resolve(false);
  }

  restartKernel(): Promise<void> {
    return this.session.kernel.restart();
  }

  shutdown(): Promise<void> {
    this._onNoKernelChange();
    return Promise.resolve();
  }

  changeKernel(): Promise<Kernel.IKernelConnection | null> {
    this._onNoKernelChange();
    return Promise.resolve(this.session.kernel);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._source.changed.disconnect(this._onStatus);
    this._source.changed.disconnect(this._onSourceChanged);
    this.session.dispose();
    this._disposed.emit();
    Signal.clearData(this);
  }

  /** Tell when the displayed status changes, whichever side changed it. */
  private _onStatus = (): void => {
    const status = this.kernelDisplayStatus;
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(
        sandboxStatus(this._source.kernel.state, this.session.kernel.status)
      );
    }
  };

  /**
   * Someone replaced the kernel: say "restarting" as Jupyter's server does to
   * every client (ipywidgets' manager forgets the old widgets), then connect
   * afresh (the manager loads the new kernel's widgets).
   */
  private _onSourceChanged = (): void => {
    const kernel = this._source.kernel;
    const replaced = kernelReplaced({ started_at: this._startedAt }, kernel);
    this._startedAt = kernel.started_at;
    if (replaced && this.session.kernel.status !== 'restarting') {
      this._statusChanged.emit('restarting');
      this.session.kernel.reconnect().catch(() => undefined);
    }
  };

  private _source: IKernelSource;
  private _startedAt: string | null;
  private _status: ISessionContext.KernelDisplayStatus;
  private _onNoKernelChange: () => void;
  private _sessionChanged = new Signal<this, SessionArgs>(this);
  private _kernelChanged = new Signal<this, KernelArgs>(this);
  private _kernelPreferenceChanged = new Signal<
    this,
    IChangedArgs<ISessionContext.IKernelPreference>
  >(this);
  private _statusChanged = new Signal<this, Kernel.Status>(this);
  private _connectionStatusChanged = new Signal<this, Kernel.ConnectionStatus>(
    this
  );
  private _iopubMessage = new Signal<this, KernelMessage.IMessage>(this);
  private _unhandledMessage = new Signal<this, KernelMessage.IMessage>(this);
  private _propertyChanged = new Signal<this, Property>(this);
  private _disposed = new Signal<this, void>(this);
  private _isDisposed = false;
}

export namespace SandboxSessionContext {
  export interface IOptions {
    session: SandboxSession;
    /** The room, for the sandbox kernel's state. */
    source: IKernelSource;
    sessionManager: Session.IManager;
    specsManager: KernelSpec.IManager;
    kernelManager?: Kernel.IManager;
    /** Someone asked to shut down or change the kernel: say why not. */
    onNoKernelChange: () => void;
  }
}
