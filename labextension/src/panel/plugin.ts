import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { acceptInvite, inviteCodeOf, withoutInvite } from '../invite';
import { ICodeCrafter, ISessionDocuments } from '../tokens';
import { CORE_PLUGIN_ID } from '../settings';
import { CodeCrafterPanel } from './widget';

/** The CodeCrafter icon in the left sidebar and the panel behind it. */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codecrafter:panel',
  description:
    'The CodeCrafter sidebar: sign-in, session lists, session details; joins invite URLs.',
  autoStart: true,
  requires: [ICodeCrafter],
  optional: [
    ILayoutRestorer,
    INotebookTracker,
    ISettingRegistry,
    ISessionDocuments
  ],
  activate: (
    app: JupyterFrontEnd,
    codecrafter: ICodeCrafter,
    restorer: ILayoutRestorer | null,
    notebooks: INotebookTracker | null,
    settingRegistry: ISettingRegistry | null,
    documents: ISessionDocuments | null
  ): void => {
    const services = {
      codecrafter,
      commands: app.commands,
      notebooks,
      documents
    };
    const panel = new CodeCrafterPanel({ services });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, panel.id);
    joinInviteOfUrl(app, codecrafter, panel);
    if (settingRegistry) {
      // The settings live with the core plugin, which owns the schema.
      settingRegistry
        .load(CORE_PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            panel.pageSize = settings.get('pageSize').composite as number;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch((reason: unknown) => {
          console.error(
            'CodeCrafter: could not load the panel settings',
            reason
          );
        });
    }
  }
};

/**
 * Join the session of an invite URL (`/lab?codecrafter-invite=<code>`), once
 * the layout is restored: restoring would otherwise replace the panel shown,
 * and the command that opens sessions is registered by then.
 */
function joinInviteOfUrl(
  app: JupyterFrontEnd,
  codecrafter: ICodeCrafter,
  panel: CodeCrafterPanel
): void {
  const code = inviteCodeOf(window.location.href);
  if (code === null) {
    return;
  }
  void app.restored.then(() =>
    acceptInvite({
      code,
      codecrafter,
      commands: app.commands,
      panel: panel.model,
      showPanel: () => {
        app.shell.activateById(panel.id);
      },
      forget: () => {
        const url = withoutInvite(window.location.href);
        window.history.replaceState(window.history.state, '', url);
      }
    })
  );
}
