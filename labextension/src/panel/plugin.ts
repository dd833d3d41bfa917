import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ICodeCrafter, ISessionDocuments } from '../tokens';
import { CORE_PLUGIN_ID } from '../settings';
import { CodeCrafterPanel } from './widget';

/** The CodeCrafter icon in the left sidebar and the panel behind it. */
export const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-codecrafter:panel',
  description:
    'The CodeCrafter sidebar: sign-in, session lists, session details.',
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
