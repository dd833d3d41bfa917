import { Token } from '@lumino/coreutils';

import type { CodeCrafterClient } from './api';
import type { AuthManager } from './auth';

/**
 * The CodeCrafter connection shared by every plugin of the extension: one API
 * client and one sign-in per JupyterLab page.
 */
export interface ICodeCrafter {
  /** The REST API, authenticated as the signed-in user. */
  readonly client: CodeCrafterClient;
  /** Who is signed in; sign in, register, sign out. */
  readonly auth: AuthManager;
}

export const ICodeCrafter = new Token<ICodeCrafter>(
  'jupyter-codecrafter:ICodeCrafter',
  'The CodeCrafter API client and the sign-in of this page.'
);
