/**
 * The session's sandbox kernel as a real Jupyter kernel connection: a
 * `KernelConnection` from @jupyterlab/services speaking Jupyter's kernel
 * WebSocket protocol to the session's kernel channel
 * (`/api/codecrafter/sessions/<id>/kernel/channels`), so that JupyterLab's
 * completer, tooltip, stdin and ipywidgets' widget manager use it as they use
 * any kernel.
 *
 * Three seams of @jupyterlab/services make it ours without copying it:
 *
 * - the server settings: KernelConnection opens
 *   `<wsUrl>api/kernels/<kernel id>/channels?token=`, and the server answers
 *   the session's channel there when `wsUrl` is the session's
 *   `.../sessions/<id>/kernel/`; the token is read at each (re)connection
 *   (access tokens last 15 minutes);
 * - the kernel API client: interrupt and restart call the CodeCrafter API,
 *   and nothing ever shuts the shared kernel down or asks /api/kernels;
 * - the kernel spec API client: the spec is the sandbox's, not the host's.
 *
 * Cell runs do not go through this connection: the executor queues them as
 * jobs (executor.ts), whose outputs the server writes into the notebook.
 */
import { URLExt } from '@jupyterlab/coreutils';
import {
  CommsOverSubshells,
  type Kernel,
  KernelConnection,
  type KernelMessage,
  type KernelSpec,
  type ServerConnection
} from '@jupyterlab/services';

import { API_PATH } from './api';

/** Interrupt or restart the sandbox kernel through the API. */
export type KernelAction = (action: 'interrupt' | 'restart') => Promise<void>;

/** The `wsUrl` under which KernelConnection finds a session's kernel channel. */
export function kernelChannelWsUrl(wsUrl: string, sessionId: string): string {
  const path = ['sessions', encodeURIComponent(sessionId), 'kernel'];
  return `${URLExt.join(wsUrl, API_PATH, ...path)}/`;
}

/**
 * Server settings whose kernel WebSockets open the session's kernel channel,
 * authenticated with the access token `token()` gives at that moment.
 */
export function kernelChannelSettings(
  base: ServerConnection.ISettings,
  sessionId: string,
  token: () => string | null
): ServerConnection.ISettings {
  return {
    ...base,
    wsUrl: kernelChannelWsUrl(base.wsUrl, sessionId),
    // In the query, as for the rooms: a browser's WebSocket sends no header.
    appendToken: true,
    get token(): string {
      return token() ?? '';
    }
  };
}

/**
 * Kernel management for the sandbox kernel: it always exists as far as the
 * connection is concerned (the first run starts it; a dead one restarts).
 */
export class SandboxKernelAPIClient implements Kernel.IKernelAPIClient {
  constructor(options: SandboxKernelAPIClient.IOptions) {
    this.serverSettings = options.serverSettings;
    this._model = options.model;
    this._act = options.act;
  }

  readonly serverSettings: ServerConnection.ISettings;

  listRunning(): Promise<Kernel.IModel[]> {
    return Promise.resolve([this._model]);
  }

  getModel(): Promise<Kernel.IModel> {
    // Never "dead": JupyterLab refuses to restart a dead kernel.
    return Promise.resolve(this._model);
  }

  startNew(): Promise<Kernel.IModel> {
    return Promise.reject(new Error('The sandbox kernel starts with a run.'));
  }

  restart(): Promise<void> {
    return this._act('restart');
  }

  interrupt(): Promise<void> {
    return this._act('interrupt');
  }

  shutdown(): Promise<void> {
    // The kernel belongs to the session and every collaborator: keep it.
    return Promise.resolve();
  }

  private _model: Kernel.IModel;
  private _act: KernelAction;
}

export namespace SandboxKernelAPIClient {
  export interface IOptions {
    serverSettings: ServerConnection.ISettings;
    model: Kernel.IModel;
    act: KernelAction;
  }
}

/** The one kernel spec a session notebook knows: its sandbox's. */
export class SandboxKernelSpecAPIClient
  implements KernelSpec.IKernelSpecAPIClient
{
  constructor(
    readonly serverSettings: ServerConnection.ISettings,
    private readonly _spec: KernelSpec.ISpecModel
  ) {}

  get(): Promise<KernelSpec.ISpecModels> {
    return Promise.resolve({
      default: this._spec.name,
      kernelspecs: { [this._spec.name]: this._spec }
    });
  }
}

/**
 * The connection to a session's sandbox kernel. Shutting it down (closing
 * the tab, "Shut Down Kernel") disconnects this page only.
 */
export class SandboxKernelConnection extends KernelConnection {
  /**
   * The kernel's info, without the debugger it may announce: the channel
   * relays no debug requests, so JupyterLab must not offer to debug.
   */
  get info(): Promise<KernelMessage.IInfoReply> {
    return super.info.then(info => ({ ...info, debugger: false }));
  }

  shutdown(): Promise<void> {
    this.dispose();
    return Promise.resolve();
  }
}

export interface IKernelChannelOptions {
  sessionId: string;
  /** Shown as the kernel's name, e.g. "Python (sandbox)". */
  displayName: string;
  language: string;
  serverSettings: ServerConnection.ISettings;
  token: () => string | null;
  act: KernelAction;
  username?: string;
}

/** A kernel connection on the session's kernel channel. */
export function connectSandboxKernel(
  options: IKernelChannelOptions
): SandboxKernelConnection {
  const serverSettings = kernelChannelSettings(
    options.serverSettings,
    options.sessionId,
    options.token
  );
  const model = {
    id: `codecrafter-${options.sessionId}`,
    name: options.displayName
  };
  const spec: KernelSpec.ISpecModel = {
    name: options.displayName,
    display_name: options.displayName,
    language: options.language,
    argv: [],
    resources: {}
  };
  return new SandboxKernelConnection({
    model,
    serverSettings,
    kernelAPIClient: new SandboxKernelAPIClient({
      serverSettings,
      model,
      act: options.act
    }),
    kernelSpecAPIClient: new SandboxKernelSpecAPIClient(serverSettings, spec),
    username: options.username,
    handleComms: true,
    // The channel relays no subshell requests: comms go on the main shell.
    commsOverSubshells: CommsOverSubshells.Disabled
  });
}
