/**
 * Session notebooks show and drive their sandbox kernel through JupyterLab's
 * own kernel UI.
 *
 * Design: every part of that UI (toolbar kernel name and status, status bar,
 * Kernel menu, Interrupt and Restart with its dialog, the completer, the
 * tooltip, ipywidgets' widget manager) reaches a notebook's kernel through
 * `context.sessionContext`. So a session notebook's document context gets a
 * session context of ours, whose only kernel is a connection to the sandbox
 * kernel (sessioncontext.ts, kernelchannel.ts), before anything reads it:
 *
 * - core's notebook toolbar builds its `kernelName` and `executionProgress`
 *   items from `panel.sessionContext` while the widget is being created;
 *   we wrap those two item factories (IToolbarWidgetRegistry.addFactory
 *   returns the one it replaces) to put our context in place first, then let
 *   core's factory build the item as usual;
 * - a document widget extension (run for every notebook opened any way:
 *   our command, a restored layout, Open With) does the same, synchronously
 *   after the widget is created, which is before the document manager
 *   initializes the context; core's session context is thus never
 *   initialized, and its kernel preference says never to start anyway.
 *
 * This keeps core's notebook factory, tracker, toolbar and commands for
 * session notebooks (they are ordinary notebooks), and needs no copy of
 * core's kernel UI. It relies on `context.sessionContext` being a plain
 * property, which it has been since JupyterLab 3.
 */
import {
  type ISessionContext,
  Notification,
  type IToolbarWidgetRegistry
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { ServiceManager } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import type { CodeCrafterClient } from './api';
import type { AuthManager } from './auth';
import { CodeCrafterError } from './errors';
import { connectSandboxKernel } from './kernelchannel';
import type { SessionRoom } from './room';
import { SandboxSession, SandboxSessionContext } from './sessioncontext';
import { InputPrompts, InputWaits } from './stdin';
import { NO_KERNEL_CHANGE, NO_KERNEL_YET } from './texts';

/** Core's notebook widget factory name, under which its toolbar items live. */
export const NOTEBOOK_FACTORY = 'Notebook';
const KERNEL_ITEMS = ['kernelName', 'executionProgress'];

export interface ISandboxKernelOptions {
  client: CodeCrafterClient;
  /** Whose access token opens the kernel channel. */
  auth: AuthManager;
  services: ServiceManager.IManager;
  /** The room of a notebook's document, or null when it is not a session. */
  roomOf: (
    context: DocumentRegistry.IContext<DocumentRegistry.IModel>
  ) => SessionRoom | null;
}

/**
 * Put the sandbox session context in place on a session notebook's document
 * context (once per context); false when the notebook is not a session.
 */
export function installSandboxKernel(
  panel: NotebookPanel,
  options: ISandboxKernelOptions
): boolean {
  const context = panel.context;
  const room = options.roomOf(context);
  if (!room) {
    return false;
  }
  if (context.sessionContext instanceof SandboxSessionContext) {
    return true;
  }
  const core = context.sessionContext;
  core.kernelPreference = {
    ...core.kernelPreference,
    shouldStart: false,
    canStart: false,
    shutdownOnDispose: false
  };
  const ours = createSessionContext(room, context.path, options);
  (context as { sessionContext: ISessionContext }).sessionContext = ours;
  const prompts = new InputPrompts(panel.content, ours.session.kernel);
  const waits = new InputWaits({
    notebook: panel.content,
    me: () => options.auth.user?.id ?? null,
    control: room.controlMessage
  });
  panel.disposed.connect(() => {
    prompts.dispose();
    waits.dispose();
  });
  context.pathChanged.connect((_, path) => {
    ours.setPath(path, PathExt.basename(path));
  });
  // Never initialized, it holds no session: disposing it touches no kernel.
  core.dispose();
  return true;
}

/**
 * Wrap core's notebook toolbar items that read the kernel, so that they are
 * built on the sandbox session context for session notebooks.
 */
export function wrapKernelToolbarItems(
  registry: IToolbarWidgetRegistry,
  options: ISandboxKernelOptions
): void {
  for (const name of KERNEL_ITEMS) {
    // Filled by addFactory, which answers the factory it replaces.
    const core: { factory?: (panel: NotebookPanel) => Widget } = {};
    const wrapped = (panel: NotebookPanel): Widget => {
      installSandboxKernel(panel, options);
      // Without core's item (none registered) there is nothing to show.
      return core.factory ? core.factory(panel) : new Widget();
    };
    core.factory = registry.addFactory<NotebookPanel>(
      NOTEBOOK_FACTORY,
      name,
      wrapped
    );
  }
}

function createSessionContext(
  room: SessionRoom,
  path: string,
  options: ISandboxKernelOptions
): SandboxSessionContext {
  const language = room.session?.language ?? 'python';
  const kernel = connectSandboxKernel({
    sessionId: room.sessionId,
    displayName: `${capitalize(language)} (sandbox)`,
    language,
    serverSettings: options.services.serverSettings,
    token: () => options.auth.accessToken,
    act: action => act(options.client, room, action),
    username: options.auth.user?.username
  });
  const session = new SandboxSession({
    kernel,
    serverSettings: options.services.serverSettings,
    path,
    name: PathExt.basename(path)
  });
  return new SandboxSessionContext({
    session,
    source: room,
    sessionManager: options.services.sessions,
    specsManager: options.services.kernelspecs,
    kernelManager: options.services.kernels,
    onNoKernelChange: () => Notification.info(NO_KERNEL_CHANGE)
  });
}

async function act(
  client: CodeCrafterClient,
  room: SessionRoom,
  action: 'interrupt' | 'restart'
): Promise<void> {
  try {
    await client.kernel(room.sessionId, action);
  } catch (error) {
    if (error instanceof CodeCrafterError && error.code === 'no_kernel') {
      Notification.info(NO_KERNEL_YET, { autoClose: 5000 });
    } else {
      const reason = error instanceof Error ? error.message : String(error);
      Notification.error(`Could not ${action} the sandbox kernel: ${reason}`);
    }
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
