/**
 * Collaborators' cursors and selections, with their names and colours, in the
 * cells and file editors of session documents.
 *
 * y-codemirror.next draws them (and publishes ours) from the document's
 * awareness. Only its remote-selections plugin is used: JupyterLab's own
 * binding already syncs the editor with the Y.Text, so its ySync is left
 * out and only the configuration facet that the plugin reads is given.
 * Each awareness state carries one cursor; the plugin draws it only in the
 * editor whose Y.Text the cursor points into, so one awareness per notebook
 * serves every cell. The server sets each state's `user` (name and colour).
 */
import type { ISharedText, YDocument, DocumentChange } from '@jupyter/ydoc';
import {
  EditorExtensionRegistry,
  type IEditorExtensionRegistry
} from '@jupyterlab/codemirror';
import type { Awareness } from 'y-protocols/awareness';
import {
  yRemoteSelections,
  yRemoteSelectionsTheme,
  ySyncFacet,
  YSyncConfig
} from 'y-codemirror.next';
import type { Text } from 'yjs';

export const CURSORS_EXTENSION = 'jupyter-codecrafter:remote-cursors';

/** What a cell or file's shared model offers (YCodeCell, YMarkdownCell, YFile). */
interface ISharedSource {
  readonly ysource?: Text;
  readonly awareness?: Awareness | null;
  readonly notebook?: YDocument<DocumentChange> | null;
}

/**
 * Register the extension; `isSessionDocument` tells which documents are
 * session documents (others, such as jupyter-collaboration's, are left alone).
 */
export function registerRemoteCursors(
  registry: IEditorExtensionRegistry,
  isSessionDocument: (document: object) => boolean
): void {
  registry.addExtension({
    name: CURSORS_EXTENSION,
    factory: options => {
      const shared = options.model.sharedModel as ISharedText & ISharedSource;
      const document = shared.notebook ?? shared;
      const { ysource, awareness } = shared;
      if (!ysource || !awareness || !isSessionDocument(document)) {
        return null;
      }
      return EditorExtensionRegistry.createImmutableExtension([
        ySyncFacet.of(new YSyncConfig(ysource, awareness)),
        yRemoteSelectionsTheme,
        yRemoteSelections
      ]);
    }
  });
}
