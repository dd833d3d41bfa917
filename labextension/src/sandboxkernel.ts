/**
 * The sandbox kernel of a session notebook, as JupyterLab's kernel UI sees it.
 *
 * JupyterLab's Interrupt and Restart (toolbar, Kernel menu, command palette,
 * keyboard) all reach a notebook's kernel as
 * `context.sessionContext.session.kernel`. For session notebooks that object
 * is this one: its status is the sandbox kernel's (read from the room), its
 * interrupt and restart call the CodeCrafter API, and the parts of the
 * Jupyter kernel protocol that a sandbox does not speak (execution goes
 * through POST /execute, not a kernel channel) answer politely: empty
 * completions and inspections, and an error for executions and comms.
 */
import {
  type Kernel,
  KernelMessage,
  type KernelSpec,
  type ServerConnection
} from '@jupyterlab/services';
import { type ISignal, Signal } from '@lumino/signaling';

import type { IKernelStatus, SessionRole } from './models';
import type { RoomConnection } from './room';

/** What the kernel needs from the session's room. */
export interface IKernelSource {
  readonly sessionId: string;
  readonly kernel: IKernelStatus;
  readonly connection: RoomConnection;
  readonly role: SessionRole | null;
  readonly changed: ISignal<unknown, void>;
}

/** Interrupt or restart the sandbox kernel through the API. */
export type KernelAction = (action: 'interrupt' | 'restart') => Promise<void>;

const UNSUPPORTED =
  'Session notebooks run in the CodeCrafter sandbox: code goes through Run, not the kernel protocol.';

/** The Jupyter status a sandbox kernel state shows as. */
export function kernelStatusOf(state: IKernelStatus['state']): Kernel.Status {
  // "none": no kernel yet, one starts with the first run.
  return state === 'none' ? 'unknown' : state;
}

export class SandboxKernel implements Kernel.IKernelConnection {
  constructor(options: SandboxKernel.IOptions) {
    this._source = options.source;
    this._act = options.act;
    this.serverSettings = options.serverSettings;
    this.name = options.displayName;
    this.id = `codecrafter-${this._source.sessionId}`;
    this._language = options.language;
    this._source.changed.connect(this._onSourceChanged);
  }

  readonly id: string;
  readonly name: string;
  readonly serverSettings: ServerConnection.ISettings;
  readonly username = '';
  readonly clientId = '';
  readonly subshellId = null;
  readonly supportsSubshells = false;
  handleComms = false;
  hasPendingInput = false;

  get model(): Kernel.IModel {
    return { id: this.id, name: this.name, execution_state: this.status };
  }

  get status(): KernelMessage.Status {
    return this._restarting ? 'restarting' : this._status;
  }

  get connectionStatus(): Kernel.ConnectionStatus {
    return this._source.connection;
  }

  get info(): Promise<KernelMessage.IInfoReply> {
    return Promise.resolve(this._infoReply());
  }

  get spec(): Promise<KernelSpec.ISpecModel> {
    return Promise.resolve({
      name: this.name,
      display_name: this.name,
      language: this._language,
      argv: [],
      resources: {}
    });
  }

  get statusChanged(): ISignal<this, KernelMessage.Status> {
    return this._statusChanged;
  }
  get connectionStatusChanged(): ISignal<this, Kernel.ConnectionStatus> {
    return this._connectionStatusChanged;
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
  get pendingInput(): ISignal<this, boolean> {
    return this._pendingInput;
  }
  get disposed(): ISignal<this, void> {
    return this._disposed;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Stop the running cell; the kernel keeps its variables. */
  interrupt(): Promise<void> {
    return this._act('interrupt');
  }

  /** A fresh sandbox kernel, without the old variables. */
  async restart(): Promise<void> {
    this._restarting = true;
    this._statusChanged.emit(this.status);
    try {
      await this._act('restart');
    } finally {
      this._restarting = false;
      this._statusChanged.emit(this.status);
    }
  }

  reconnect(): Promise<void> {
    // The room reconnects by itself.
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    // The kernel belongs to the session and every collaborator: keep it.
    return Promise.resolve();
  }

  requestKernelInfo(): Promise<KernelMessage.IInfoReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.IInfoReplyMsg>('kernel_info_reply', {
        ...this._infoReply()
      })
    );
  }

  requestComplete(): Promise<KernelMessage.ICompleteReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.ICompleteReplyMsg>('complete_reply', {
        status: 'ok',
        matches: [],
        cursor_start: 0,
        cursor_end: 0,
        metadata: {}
      })
    );
  }

  requestInspect(): Promise<KernelMessage.IInspectReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.IInspectReplyMsg>('inspect_reply', {
        status: 'ok',
        found: false,
        data: {},
        metadata: {}
      })
    );
  }

  requestHistory(): Promise<KernelMessage.IHistoryReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.IHistoryReplyMsg>('history_reply', {
        status: 'ok',
        history: []
      })
    );
  }

  requestIsComplete(): Promise<KernelMessage.IIsCompleteReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.IIsCompleteReplyMsg>('is_complete_reply', {
        status: 'unknown'
      })
    );
  }

  requestCommInfo(): Promise<KernelMessage.ICommInfoReplyMsg> {
    return Promise.resolve(
      reply<KernelMessage.ICommInfoReplyMsg>('comm_info_reply', {
        status: 'ok',
        comms: {}
      })
    );
  }

  requestExecute(): never {
    return unsupported('requestExecute');
  }
  requestDebug(): never {
    return unsupported('requestDebug');
  }
  requestCreateSubshell(): never {
    return unsupported('requestCreateSubshell');
  }
  requestDeleteSubshell(): never {
    return unsupported('requestDeleteSubshell');
  }
  requestListSubshell(): never {
    return unsupported('requestListSubshell');
  }
  sendShellMessage(): never {
    return unsupported('sendShellMessage');
  }
  sendControlMessage(): never {
    return unsupported('sendControlMessage');
  }
  createComm(): never {
    return unsupported('createComm');
  }
  clone(): never {
    return unsupported('clone');
  }

  hasComm(): boolean {
    return false;
  }

  // Nothing ever arrives to be hooked, answered or guarded.
  sendInputReply(): void {
    return;
  }
  registerCommTarget(): void {
    return;
  }
  removeCommTarget(): void {
    return;
  }
  registerMessageHook(): void {
    return;
  }
  removeMessageHook(): void {
    return;
  }
  removeInputGuard(): void {
    return;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._source.changed.disconnect(this._onSourceChanged);
    this._disposed.emit();
    Signal.clearData(this);
  }

  private _onSourceChanged = (): void => {
    const status = kernelStatusOf(this._source.kernel.state);
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(this.status);
    }
    if (this._source.connection !== this._connection) {
      this._connection = this._source.connection;
      this._connectionStatusChanged.emit(this._connection);
    }
  };

  private _infoReply(): KernelMessage.IInfoReply {
    return {
      status: 'ok',
      protocol_version: '5.3',
      implementation: 'codecrafter-sandbox',
      implementation_version: '',
      language_info: { name: this._language, version: '' },
      banner: '',
      help_links: []
    };
  }

  private _source: IKernelSource;
  private _act: KernelAction;
  private _language: string;
  private _status: KernelMessage.Status = 'unknown';
  private _connection: Kernel.ConnectionStatus = 'connecting';
  private _restarting = false;
  private _statusChanged = new Signal<this, KernelMessage.Status>(this);
  private _connectionStatusChanged = new Signal<this, Kernel.ConnectionStatus>(
    this
  );
  private _iopubMessage = new Signal<this, KernelMessage.IIOPubMessage>(this);
  private _unhandledMessage = new Signal<this, KernelMessage.IMessage>(this);
  private _anyMessage = new Signal<this, Kernel.IAnyMessageArgs>(this);
  private _pendingInput = new Signal<this, boolean>(this);
  private _disposed = new Signal<this, void>(this);
  private _isDisposed = false;
}

export namespace SandboxKernel {
  export interface IOptions {
    source: IKernelSource;
    act: KernelAction;
    serverSettings: ServerConnection.ISettings;
    /** Shown as the kernel's name, e.g. "Python (sandbox)". */
    displayName: string;
    language: string;
  }
}

function unsupported(method: string): never {
  throw new Error(`${UNSUPPORTED} (${method})`);
}

function reply<T extends KernelMessage.Message>(
  msgType: T['header']['msg_type'],
  content: T['content']
): T {
  // createMessage's overloads pick the message type from T, which the
  // compiler cannot resolve for a generic T (the linter disagrees).
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
  const create = KernelMessage.createMessage as (
    options: KernelMessage.IOptions<T>
  ) => T;
  return create({ channel: 'shell', session: '', msgType, content });
}
