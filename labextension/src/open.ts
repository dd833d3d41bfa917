import type { JupyterFrontEnd } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import type { SessionDocuments } from './documents';
import { NOTEBOOK_FACTORY } from './kernel';
import { OPEN_SESSION_COMMAND } from './panel/actions';
import { whenSignedIn } from './invite';
import { sessionIdOf, sessionPath } from './paths';
import type { ICodeCrafter } from './tokens';

/** Core's file editor factory. */
export const EDITOR_FACTORY = 'Editor';

// Belt and braces: the session context is replaced before it initializes,
// and the one it replaces could not start a kernel on the host anyway.
const NO_HOST_KERNEL = {
  shouldStart: false,
  canStart: false,
  shutdownOnDispose: false
};

export interface IOpenCommandOptions {
  app: JupyterFrontEnd;
  codecrafter: ICodeCrafter;
  docManager: IDocumentManager;
  documents: SessionDocuments;
}

/**
 * `codecrafter:open-session` {id, kind, title}: a notebook session in a
 * notebook tab, a file session in an editor tab; an open one is revealed.
 */
export function registerOpenCommand(options: IOpenCommandOptions): void {
  const { app, codecrafter, docManager, documents } = options;
  app.commands.addCommand(OPEN_SESSION_COMMAND, {
    label: args =>
      typeof args.title === 'string'
        ? `Open “${args.title}”`
        : 'Open CodeCrafter Session',
    caption: 'Open a CodeCrafter session in a tab bound to its room',
    execute: async args => {
      const id = sessionIdArg(args);
      const open = documents.widgetsOf(id).at(0);
      if (open) {
        app.shell.activateById(open.id);
        return open;
      }
      if (!codecrafter.auth.accessToken) {
        throw new Error('Sign in to CodeCrafter to open sessions.');
      }
      // The current title, kind and language, and whether we may read it.
      const { session } = await codecrafter.client.getSession(id);
      const factory =
        session.kind === 'notebook' ? NOTEBOOK_FACTORY : EDITOR_FACTORY;
      const widget: IDocumentWidget | undefined = docManager.openOrReveal(
        sessionPath(id, session),
        factory,
        undefined,
        undefined,
        NO_HOST_KERNEL
      );
      if (!widget) {
        throw new Error(
          `JupyterLab has no ${factory} to open “${session.title}”.`
        );
      }
      return widget;
    },
    describedBy: {
      args: {
        type: 'object',
        properties: {
          id: { type: 'string', description: 'The session id' },
          kind: { type: 'string', enum: ['notebook', 'file'] },
          title: { type: 'string', description: 'The session title' }
        },
        required: ['id']
      }
    }
  });
}

/**
 * A reload of a page that showed a session: JupyterLab put the session's
 * path in the URL (`/lab/tree/CodeCrafter:<id>/...`) and would hand it to
 * the file browser, which has no CodeCrafter drive and says "Cannot open".
 * Take the path from it and open the session once the layout is restored
 * and someone is signed in (the refresh cookie usually signs them in at once).
 */
export function reopenSessionOfUrl(
  app: Pick<JupyterFrontEnd, 'commands' | 'restored'>,
  codecrafter: ICodeCrafter
): void {
  const id = sessionIdOf(PageConfig.getOption('treePath'));
  if (id === null) {
    return;
  }
  PageConfig.setOption('treePath', '');
  // After the layout is restored, which would otherwise replace the tab.
  void Promise.all([app.restored, whenSignedIn(codecrafter.auth)])
    .then(() => app.commands.execute(OPEN_SESSION_COMMAND, { id }))
    .catch((reason: unknown) => {
      console.warn('CodeCrafter: could not reopen the session', reason);
    });
}

function sessionIdArg(args: ReadonlyPartialJSONObject): string {
  const id = args.id;
  if (typeof id !== 'string' || !id) {
    throw new Error('codecrafter:open-session needs the session id.');
  }
  return id;
}
