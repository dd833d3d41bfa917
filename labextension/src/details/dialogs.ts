import { Clipboard, Dialog, showDialog } from '@jupyterlab/apputils';

/** Ask before something that cannot be undone; true when confirmed. */
export async function confirmAction(
  title: string,
  body: string,
  label: string
): Promise<boolean> {
  const result = await showDialog({
    title,
    body,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label })]
  });
  return result.button.accept;
}

/**
 * Put text on the system clipboard. The Clipboard API exists only in secure
 * contexts (https, localhost): a classroom server on plain http over the
 * network falls back to JupyterLab's copy event, which needs the click that
 * called this, so it must run soon after it.
 */
export async function copyText(text: string): Promise<void> {
  // Typed as always there; it is not outside secure contexts.
  const clipboard = navigator.clipboard as Clipboard | undefined;
  if (clipboard) {
    try {
      await clipboard.writeText(text);
      return;
    } catch {
      // Refused (no permission, page not focused): try the copy event.
    }
  }
  Clipboard.copyToSystem(text);
}
