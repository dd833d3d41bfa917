import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { CodeCrafterClient } from './api';
import { AuthManager } from './auth';
import { CORE_PLUGIN_ID } from './settings';
import { ICodeCrafter } from './tokens';

/** One API client and one sign-in for the page, restored from the refresh cookie. */
export const corePlugin: JupyterFrontEndPlugin<ICodeCrafter> = {
  id: CORE_PLUGIN_ID,
  description: 'The CodeCrafter API client and sign-in.',
  autoStart: true,
  provides: ICodeCrafter,
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    settingRegistry: ISettingRegistry | null
  ): ICodeCrafter => {
    const client = new CodeCrafterClient({
      serverSettings: app.serviceManager.serverSettings
    });
    const auth = new AuthManager({ client });
    // The margin must be known before restore() schedules the first renewal.
    void loadMargin(auth, settingRegistry).then(() => auth.restore());
    return { client, auth };
  }
};

async function loadMargin(
  auth: AuthManager,
  registry: ISettingRegistry | null
): Promise<void> {
  if (!registry) {
    return;
  }
  try {
    const settings = await registry.load(CORE_PLUGIN_ID);
    const apply = (): void => {
      auth.refreshMarginS = settings.get('refreshMarginS').composite as number;
    };
    apply();
    settings.changed.connect(apply);
  } catch (reason) {
    console.error(
      'CodeCrafter: could not load the settings; using the defaults',
      reason
    );
  }
}
